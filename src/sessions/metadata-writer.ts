import { mkdir } from 'node:fs/promises';
import type { Logger } from '../logging/index.js';
import type { SessionRecord, SessionRepository } from '../store/index.js';
import { METADATA_FILE, type SessionCatalog } from './session-catalog.js';
import { buildSessionMetadata } from './session-metadata.js';
import { writeJsonAtomic } from './write-json-atomic.js';

/** What the writer needs: the store, the clock, and whom to tell when a recording's error changed. */
export interface MetadataWriterOptions {
  repo: SessionRepository;
  catalog: SessionCatalog;
  logger: Logger;
  now: () => Date;
  onRecordingChanged: (recordingId: string) => void;
  /** Fields other parts add to the file (RecordingManagerOptions.metadataExtras). */
  extras?: ((sessionId: string) => Record<string, unknown>) | undefined;
}

/**
 * Writes each session's `session_metadata.json` from the database (the truth). Writes for one
 * session never overlap, and a write never rejects: a failure (the folder replaced by a file, a
 * full disk) is logged and recorded on the session's recordings, and the next change writes the
 * whole file again (and clears the error).
 */
export class MetadataWriter {
  private readonly writes = new Map<string, Promise<void>>();

  constructor(private readonly options: MetadataWriterOptions) {}

  write(sessionId: string): Promise<void> {
    const previous = this.writes.get(sessionId) ?? Promise.resolve();
    const next = previous.then(() => this.writeNow(sessionId));
    this.writes.set(sessionId, next);
    void next.then(() => {
      if (this.writes.get(sessionId) === next) this.writes.delete(sessionId);
    });
    return next;
  }

  /** Resolves once the session's pending writes are done. */
  async whenWritten(sessionId: string): Promise<void> {
    await this.writes.get(sessionId);
  }

  /** Resolves once every pending write is done (for close()). */
  async settled(): Promise<void> {
    await Promise.all([...this.writes.values()]);
  }

  private async writeNow(sessionId: string): Promise<void> {
    const { repo, catalog, now } = this.options;
    const session = repo.getSession(sessionId);
    if (!session) return;
    try {
      await mkdir(session.folder, { recursive: true });
      const metadata = buildSessionMetadata(
        session,
        repo.listRecordings(sessionId),
        now().toISOString(),
        repo.listSessionUploadTasks(sessionId),
      );
      await writeJsonAtomic(catalog.metadataPath(session), {
        ...metadata,
        ...this.options.extras?.(sessionId),
      });
      this.markWritten(session);
    } catch (error) {
      this.markFailed(session, error);
    }
  }

  /**
   * A recording that is not `failed` carries an error only when its session's metadata could
   * not be written (a failed recording's error is why it failed, and stays).
   */
  private markFailed(session: SessionRecord, error: unknown): void {
    const { repo, logger, onRecordingChanged } = this.options;
    const cause = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown }).code === 'ENOSPC' ? 'INSUFFICIENT_STORAGE' : 'INTERNAL_ERROR';
    const recorded = { code, message: `${METADATA_FILE} could not be written: ${cause}` };
    logger.error({ err: error, sessionId: session.id, folder: session.folder }, recorded.message);
    for (const r of repo.listRecordings(session.id)) {
      if (r.state === 'failed' || (r.error?.code === code && r.error.message === recorded.message)) continue;
      repo.updateRecording(r.id, { error: recorded });
      onRecordingChanged(r.id);
    }
  }

  private markWritten(session: SessionRecord): void {
    const { repo, onRecordingChanged } = this.options;
    for (const r of repo.listRecordings(session.id)) {
      if (r.state === 'failed' || r.error === null) continue;
      repo.updateRecording(r.id, { error: null });
      onRecordingChanged(r.id);
    }
  }
}
