import type { ManagerStatus, RecordingView as ManagedRecording } from '../sessions/index.js';
import type { ProcessingView, UploadProgress, UploadTask } from '../uploads/index.js';
import type { RecordingView, StatusView, UploadView } from './contract.js';

// The wire views are defined once, in contract.ts; these are their types.
export type { ProcessingView, RecordingView, StatusView, UploadView } from './contract.js';

export function uploadView(
  task: UploadTask,
  progress: UploadProgress | undefined,
  processing: ProcessingView | null,
): UploadView {
  const live = progress && progress.state === task.state ? progress : undefined;
  return {
    task_id: task.id,
    file_name: task.fileName,
    session_name: task.sessionName,
    recording_id: task.recordingId,
    state: task.state,
    bytes_sent: live ? live.bytesSent : task.bytesSent,
    size: live ? live.totalBytes : task.size,
    rate_bytes_per_second: live ? live.rateBytesPerSecond : 0,
    eta_seconds: live ? live.etaSeconds : null,
    attempts: task.attempts,
    protocol: task.protocol,
    sha256: task.sha256,
    verified_by: task.verifiedBy,
    target_url: task.target?.url ?? null,
    s3: s3View(task),
    // A completed task's error is history (kept in its history lines), not its state.
    last_error: task.state === 'completed' ? null : task.lastError,
    created_at: task.createdAt,
    completed_at: task.completedAt,
    processing,
    ...(task.parts
      ? {
          parts: {
            total: task.parts.total,
            uploaded: task.parts.uploaded,
            waiting: task.parts.waiting,
            waiting_bytes: task.parts.waitingBytes,
            mode: task.parts.mode,
            ...(task.parts.open !== undefined ? { open_part: task.parts.open } : {}),
          },
        }
      : {}),
  };
}

function s3View(task: UploadTask): UploadView['s3'] {
  const s3 = task.s3;
  if (!s3) return null;
  const p = s3.processing;
  return {
    bucket: s3.bucket,
    key: s3.key,
    endpoint: s3.endpoint,
    upload_id: s3.uploadId,
    parts_in_bucket: s3.partsInBucket,
    part_count: s3.partCount,
    etag: task.object?.etag ?? null,
    manifest_key: task.object?.manifestKey ?? null,
    verified_by: task.object?.verifiedBy ?? null,
    processing_start: p
      ? { state: p.state, attempts: p.attempts, last_error: p.lastError, next_attempt_at: p.nextAttemptAt }
      : null,
  };
}

export function recordingView(recording: ManagedRecording, upload: UploadView | null): RecordingView {
  return {
    id: recording.id,
    sessionId: recording.sessionId,
    sessionName: recording.sessionName,
    title: recording.sessionName,
    date: recording.startedAt,
    state: recording.state,
    durationSeconds: recording.duration,
    sizeBytes: recording.size,
    sha256: recording.sha256,
    fileName: recording.fileName,
    hasThumbnail: recording.thumbnailPath !== null,
    error: recording.error,
    upload,
  };
}

export function statusView(
  manager: ManagerStatus,
  extra: { version: string; uploads: StatusView['uploads']; vultr: StatusView['vultr'] },
): StatusView {
  return {
    success: true,
    version: extra.version,
    recorder: {
      kind: manager.recorder.kind,
      connected: manager.recorder.connected,
      recording: manager.recording,
      state: manager.state,
      session: manager.session,
      startedAt: manager.startedAt,
      elapsedSeconds: manager.elapsedSeconds ?? 0,
      error: manager.recorder.lastError?.message ?? null,
    },
    uploads: extra.uploads,
    vultr: extra.vultr,
  };
}
