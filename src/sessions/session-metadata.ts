import path from 'node:path';
import type { RecordingRecord, SessionRecord, SessionUploadTask } from '../store/index.js';
import { localDateTime } from './local-time.js';
import { isFinalUploadState } from './upload-queue.js';

/** One upload in `vultr_uploads`: the original fields plus state and checksum. */
export interface MetadataUpload {
  task_id: string;
  file_name: string;
  /** When the upload was enqueued, `YYYY-MM-DD HH:MM:SS` in local time (the original's form). */
  upload_time: string;
  file_size: number | null;
  recording_id: string;
  state: string | null;
  sha256: string | null;
  /**
   * What `sha256` is the digest of: the recording's file as sent (`file`), or — for a recording
   * sent in parts while it recorded — the file the server joined from the parts (`server_join`;
   * each part's digest was confirmed, the local joined file's own digest is in `recordings[]`).
   */
  sha256_of: 'file' | 'server_join';
  /** How many parts it was sent in (null until the recording stopped); absent for one file. */
  parts?: number | null;
  completed_at: string | null;
  error: { code: string; message: string } | null;
}

/** One recorded file of the session. */
export interface MetadataRecording {
  id: string;
  file_name: string | null;
  state: RecordingRecord['state'];
  external: boolean;
  started_at: string;
  stopped_at: string | null;
  duration: number | null;
  size: number | null;
  sha256: string | null;
  thumbnail: string | null;
  technical: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  upload: { task_id: string; state: string | null; completed_at: string | null } | null;
}

/**
 * `session_metadata.json`: the original fields (id, title, date, duration, size, platforms,
 * status, technical, vultr_uploads, auto_upload_completed) kept for existing tools, plus a
 * stable id, per-file sha256 and per-file upload state.
 */
export interface SessionMetadata {
  id: string;
  title: string;
  date: string;
  /** Seconds, summed over the session's usable recordings. */
  duration: number;
  /** Bytes, summed over the session's usable recordings. */
  size: number;
  platforms: string[];
  status: 'empty' | 'recording' | 'processing' | 'recorded' | 'uploading' | 'uploaded' | 'failed';
  technical: Record<string, unknown>;
  vultr_uploads: MetadataUpload[];
  auto_upload_completed: boolean;
  recordings: MetadataRecording[];
  updated_at: string;
  metadata_version: 1;
}

const RECORDER_PLATFORM: Record<string, string> = {
  obs: 'OBS Recording',
  ffmpeg: 'FFmpeg Recording',
};

/**
 * Builds the metadata document from what the database holds (the database is the source of
 * truth). `uploadTasks` is the session's upload history (every task, oldest first): a recording
 * uploaded twice has two entries in `vultr_uploads`. A recording's current task missing from it
 * (a queue outside this database) is listed from the recording's own fields.
 */
export function buildSessionMetadata(
  session: SessionRecord,
  recordings: readonly RecordingRecord[],
  now = new Date().toISOString(),
  uploadTasks: readonly SessionUploadTask[] = [],
): SessionMetadata {
  const usable = recordings.filter((r) => r.state === 'ready');
  const byId = new Map(recordings.map((r) => [r.id, r]));
  const uploads: MetadataUpload[] = uploadTasks
    .filter((task) => byId.has(task.recordingId))
    .map((task) => {
      const recording = byId.get(task.recordingId);
      // The recording mirrors its current task's state the moment it changes; older tasks are final.
      const current = recording?.uploadTaskId === task.taskId ? recording : undefined;
      const state = current?.uploadState ?? task.state;
      return {
        task_id: task.taskId,
        file_name: task.fileName,
        upload_time: originalTime(task.createdAt),
        file_size: recording?.size ?? task.fileSize,
        recording_id: task.recordingId,
        state,
        // A parts task's digest is the server's join; until it has one, none (not the local file's).
        sha256: task.parts !== undefined ? task.sha256 : (task.sha256 ?? recording?.sha256 ?? null),
        sha256_of: task.parts !== undefined ? ('server_join' as const) : ('file' as const),
        ...(task.parts !== undefined ? { parts: task.parts } : {}),
        completed_at: state === 'completed' ? (current?.uploadedAt ?? task.completedAt) : null,
        error: current ? current.uploadError : task.error,
      };
    });
  const listed = new Set(uploads.map((u) => u.task_id));
  for (const r of recordings) {
    if (r.uploadTaskId === null || listed.has(r.uploadTaskId)) continue;
    uploads.push({
      task_id: r.uploadTaskId,
      file_name: r.fileName ?? '',
      upload_time: originalTime(r.uploadQueuedAt ?? r.updatedAt),
      file_size: r.size,
      recording_id: r.id,
      state: r.uploadState,
      sha256: r.sha256,
      sha256_of: 'file',
      completed_at: r.uploadState === 'completed' ? r.uploadedAt : null,
      error: r.uploadError,
    });
  }
  const uploaded = usable.filter((r) => r.uploadState === 'completed');
  const platforms = [...new Set(recordings.map((r) => RECORDER_PLATFORM[r.recorder] ?? r.recorder))];
  if (uploaded.length > 0) platforms.push('Vultr Processing');

  const latest = usable[usable.length - 1];
  return {
    id: session.id,
    title: session.name,
    date: session.createdAt,
    duration: Math.round(usable.reduce((sum, r) => sum + (r.duration ?? 0), 0) * 1000) / 1000,
    size: usable.reduce((sum, r) => sum + (r.size ?? 0), 0),
    platforms,
    status: statusOf(recordings),
    technical: {
      recorder: latest?.recorder ?? recordings[recordings.length - 1]?.recorder ?? null,
      ...(latest?.technical ?? {}),
    },
    vultr_uploads: uploads,
    auto_upload_completed: usable.length > 0 && uploaded.length === usable.length,
    recordings: recordings.map((r) => ({
      id: r.id,
      file_name: r.fileName,
      state: r.state,
      external: r.external,
      started_at: r.startedAt,
      stopped_at: r.stoppedAt,
      duration: r.duration,
      size: r.size,
      sha256: r.sha256,
      thumbnail: r.thumbnailPath ? path.basename(r.thumbnailPath) : null,
      technical: r.technical,
      error: r.error,
      upload: r.uploadTaskId
        ? {
            task_id: r.uploadTaskId,
            state: r.uploadState,
            completed_at: r.uploadState === 'completed' ? r.uploadedAt : null,
          }
        : null,
    })),
    updated_at: now,
    metadata_version: 1,
  };
}

function statusOf(recordings: readonly RecordingRecord[]): SessionMetadata['status'] {
  if (recordings.length === 0) return 'empty';
  if (recordings.some((r) => r.state === 'recording')) return 'recording';
  if (recordings.some((r) => r.state === 'finalizing')) return 'processing';
  const usable = recordings.filter((r) => r.state === 'ready');
  if (usable.length === 0) return 'failed';
  if (usable.every((r) => r.uploadState === 'completed')) return 'uploaded';
  if (usable.some((r) => r.uploadState !== null && !isFinalUploadState(r.uploadState))) return 'uploading';
  return 'recorded';
}

/** An ISO time as the original's `YYYY-MM-DD HH:MM:SS` (local); kept as it is when unparsable. */
function originalTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : localDateTime(date);
}
