/** The JSON the station API sends to the page (kept in step with src/api/views.ts). */
export interface RecorderStatus {
  kind: 'obs' | 'ffmpeg';
  connected: boolean;
  recording: boolean;
  session: { id: string; name: string } | null;
  startedAt: string | null;
  elapsedSeconds: number;
  error: string | null;
}

export interface StatusResponse {
  success: true;
  version: string;
  recorder: RecorderStatus;
  uploads: { active: number; queued: number };
  vultr: { url: string; embedded: boolean; autoUpload: boolean; protocol: string };
}

export interface ProcessingView {
  state: string;
  progress: number;
  report: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  outputs: Array<{ name: string; size: number }>;
}

export interface UploadView {
  task_id: string;
  file_name: string;
  session_name: string | null;
  recording_id: string | null;
  state: string;
  bytes_sent: number;
  size: number;
  rate_bytes_per_second: number;
  eta_seconds: number | null;
  attempts: number;
  last_error: { code: string; message: string } | null;
  created_at: string;
  completed_at: string | null;
  processing: ProcessingView | null;
}

export interface RecordingView {
  id: string;
  sessionId: string;
  title: string;
  date: string;
  /** recording | finalizing | ready | failed | lost */
  state: string;
  durationSeconds: number | null;
  sizeBytes: number | null;
  fileName: string | null;
  hasThumbnail: boolean;
  upload: UploadView | null;
}

export interface ErrorResponse {
  success: false;
  error: { code: string; message: string };
}
