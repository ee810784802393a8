import type { Logger } from '../logging/index.js';
import type { Notifier } from './notifier.js';

/** The part of a station's upload view the events read (src/station's UploadView). */
interface UploadLike {
  task_id: string;
  file_name: string;
  state: string;
  attempts: number;
  created_at: string;
  sha256: string | null;
  last_error: { code: string; message: string } | null;
  processing: { state: string; error: { code: string; message: string } | null } | null;
}

/** The part of a station's recording view the events read. */
interface RecordingLike {
  id: string;
  sessionName: string;
  state: string;
  fileName: string | null;
  error: { code: string; message: string } | null;
}

/** What the station offers (typed structurally so src/station need not be imported here). */
export interface StationEventSource {
  on(event: 'upload', listener: (view: UploadLike) => void): unknown;
  on(event: 'recordings', listener: (change: { id: string }) => void): unknown;
  off(event: 'upload', listener: (view: UploadLike) => void): unknown;
  off(event: 'recordings', listener: (change: { id: string }) => void): unknown;
  getRecording(id: string): RecordingLike;
  /** The upload tasks, for how the server confirmed each (`verifiedBy`, src/uploads). */
  readonly uploadService: { get(taskId: string): { verifiedBy: string | null } | undefined };
}

/**
 * Turns the station's own events into notifications: a recording that starts, one that stopped
 * and is finalised (ready or failed), an upload that completed or failed, and processing that
 * finished on the server. Keys name the happening, so a view emitted many times (progress,
 * processing polls) is queued once. Returns the unsubscriber.
 */
export function notifyStationEvents(
  station: StationEventSource,
  notifier: Notifier,
  logger: Logger,
): () => void {
  const seen = new Set<string>();
  const publish = (...args: Parameters<Notifier['publish']>): void => {
    if (seen.has(args[1])) return;
    seen.add(args[1]);
    notifier.publish(...args).catch((error: unknown) => {
      seen.delete(args[1]);
      logger.warn({ err: error, type: args[0] }, 'event could not be queued');
    });
  };
  const onUpload = (u: UploadLike): void => {
    const verifiedBy =
      u.state === 'completed' ? (station.uploadService.get(u.task_id)?.verifiedBy ?? null) : null;
    const data = { ...(u as unknown as Record<string, unknown>), verified_by: verifiedBy };
    if (u.state === 'completed') {
      const check =
        verifiedBy === 'sha256' && u.sha256
          ? `sha256 ${u.sha256.slice(0, 12)}… confirmed by the server`
          : 'accepted by the server, no checksum reported';
      publish(
        'upload.completed',
        `upload.completed:${u.task_id}`,
        data,
        `upload of ${u.file_name} completed (${check})`,
      );
    } else if (u.state === 'failed') {
      const why = u.last_error ? `${u.last_error.code}: ${u.last_error.message}` : 'unknown error';
      publish(
        'upload.failed',
        `upload.failed:${u.task_id}:${u.created_at}:${u.attempts}`,
        data,
        `upload of ${u.file_name} failed (${why})`,
      );
    }
    const p = u.processing;
    if (p?.state === 'done') {
      publish(
        'processing.done',
        `processing.done:${u.task_id}`,
        data,
        `processing of ${u.file_name} is done`,
      );
    } else if (p?.state === 'failed') {
      const why = p.error ? `${p.error.code}: ${p.error.message}` : 'unknown error';
      publish(
        'processing.failed',
        `processing.failed:${u.task_id}`,
        data,
        `processing of ${u.file_name} failed (${why})`,
      );
    }
  };
  const onRecording = ({ id }: { id: string }): void => {
    let r: RecordingLike;
    try {
      r = station.getRecording(id);
    } catch {
      return; // gone already
    }
    const data = r as unknown as Record<string, unknown>;
    if (r.state === 'recording') {
      publish(
        'recording.started',
        `recording.started:${id}`,
        data,
        `recording of "${r.sessionName}" started`,
      );
    } else if (r.state === 'ready' || r.state === 'failed') {
      const how =
        r.state === 'ready' ? `saved as ${r.fileName ?? '?'}` : `unusable (${r.error?.code ?? 'error'})`;
      publish(
        'recording.stopped',
        `recording.stopped:${id}`,
        data,
        `recording of "${r.sessionName}" stopped, ${how}`,
      );
    }
  };
  station.on('upload', onUpload);
  station.on('recordings', onRecording);
  return () => {
    station.off('upload', onUpload);
    station.off('recordings', onRecording);
  };
}
