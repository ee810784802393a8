import path from 'node:path';
import type { Db, RecordingRecord, SessionRecord } from '../store/index.js';
import { SessionRepository } from '../store/session-repository.js';
import { buildSessionMetadata, type SessionMetadata } from './session-metadata.js';

/** The metadata file in each session folder. */
export const METADATA_FILE = 'session_metadata.json';

/** A recording as callers see it: the stored record plus its session's name. */
export interface RecordingView extends RecordingRecord {
  sessionName: string;
}

/** A session with its recordings and totals. */
export interface SessionView extends SessionRecord {
  recordings: RecordingView[];
  duration: number;
  size: number;
  status: SessionMetadata['status'];
  autoUploadCompleted: boolean;
}

/** Counts over every session and recording, for `streamai status` and status pages. */
export interface CatalogCounts {
  sessions: number;
  recordings: number;
  /** Recording or finalizing: not usable yet. */
  unfinished: number;
  lastRecording: RecordingView | null;
}

/**
 * The sessions and recordings the station database holds, read-only: what `streamai list` and
 * `status` read without a recorder, and what the RecordingManager answers its readers with.
 */
export class SessionCatalog {
  private readonly repo: SessionRepository;

  constructor(db: Db) {
    this.repo = new SessionRepository(db);
  }

  /** Sessions, most recent first, with their recordings. */
  listSessions(limit = 100): SessionView[] {
    return this.repo.listSessions(limit).map((s) => this.sessionView(s));
  }

  getSession(id: string): SessionView | undefined {
    const session = this.repo.getSession(id);
    return session ? this.sessionView(session) : undefined;
  }

  /** Every recording, most recent first. */
  listRecordings(limit = 100): RecordingView[] {
    const names = new Map<string, string>();
    return this.repo.listAllRecordings(limit).map((r) => {
      let name = names.get(r.sessionId);
      if (name === undefined) {
        name = this.repo.getSession(r.sessionId)?.name ?? '';
        names.set(r.sessionId, name);
      }
      return { ...r, sessionName: name };
    });
  }

  getRecording(id: string): RecordingView | undefined {
    const recording = this.repo.getRecording(id);
    if (!recording) return undefined;
    return { ...recording, sessionName: this.repo.getSession(recording.sessionId)?.name ?? '' };
  }

  counts(): CatalogCounts {
    const recordings = this.listRecordings(1_000_000);
    return {
      sessions: this.repo.listSessions(1_000_000).length,
      recordings: recordings.length,
      unfinished: recordings.filter((r) => r.state === 'recording' || r.state === 'finalizing').length,
      lastRecording: recordings[0] ?? null,
    };
  }

  /** The metadata file's path for a session. */
  metadataPath(session: SessionRecord): string {
    return path.join(session.folder, METADATA_FILE);
  }

  private sessionView(session: SessionRecord): SessionView {
    const recordings = this.repo.listRecordings(session.id);
    const metadata = buildSessionMetadata(session, recordings);
    return {
      ...session,
      recordings: recordings.map((r) => ({ ...r, sessionName: session.name })),
      duration: metadata.duration,
      size: metadata.size,
      status: metadata.status,
      autoUploadCompleted: metadata.auto_upload_completed,
    };
  }
}
