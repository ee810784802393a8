import { assertFreeSpace, freeBytes } from '../retention/index.js';
import { describeMediaTools } from '../media/index.js';
import path from 'node:path';
// The client alone, not the api face: that would load Fastify and the whole station for a request.
import { StationClient, stationUrl } from '../api/station-client.js';
import cliProgress from 'cli-progress';
import { formatBytes } from '../config/index.js';
import { AppError } from '../errors/index.js';
import { partsText } from '../uploads/index.js';
import {
  buildStationParts,
  recorderExitCode,
  recordingExitCode,
  stationSummary,
  type StationSummary,
} from '../composition/index.js';
import { createRecorder, type RecorderKind, type RecorderStatus } from '../recorder/index.js';
import {
  defaultSessionName,
  untilNotRecording,
  untilUploadFinished,
  type RecordingUploadEvent,
  type RecordingView,
  type SessionView,
} from '../sessions/index.js';
import { parseIntegerOption, type CommandContext } from './run-action.js';

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function note(line: string): void {
  process.stderr.write(`${line}\n`);
}

function seconds(value: number | null): string {
  if (value === null) return '-';
  const s = Math.round(value);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m${String(rest).padStart(2, '0')}s`
    : `${m}m${String(rest).padStart(2, '0')}s`;
}

/** Upload progress on stderr: a bar on a terminal, a line per 10% otherwise. */
function uploadProgressView(): { update: (e: RecordingUploadEvent) => void; stop: () => void } {
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: 'upload {bar} {percentage}% | {sent} / {total} | {rate}/s | ETA {eta}',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update: (e) => {
        const payload = {
          sent: formatBytes(e.bytesSent),
          total: formatBytes(e.totalBytes),
          rate: formatBytes(e.rateBytesPerSecond ?? 0),
          eta: e.etaSeconds === null ? '-' : `${e.etaSeconds}s`,
        };
        if (!started) bar.start(e.totalBytes, e.bytesSent, payload);
        else bar.update(e.bytesSent, payload);
        started = true;
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  let shown = -1;
  return {
    update: (e) => {
      const tenth = e.totalBytes > 0 ? Math.floor((e.bytesSent / e.totalBytes) * 10) : 0;
      if (tenth === shown) return;
      shown = tenth;
      note(`upload ${tenth * 10}% ${formatBytes(e.bytesSent)} / ${formatBytes(e.totalBytes)}`);
    },
    stop: () => undefined,
  };
}

function parseRecorder(value: string | undefined): RecorderKind | undefined {
  if (value === undefined) return undefined;
  if (value === 'obs' || value === 'ffmpeg') return value;
  throw new AppError('BAD_REQUEST', `--recorder expects obs or ffmpeg (got "${value}")`);
}

function summary(recording: RecordingView): string[] {
  const lines = [
    `session    ${recording.sessionName} (${recording.sessionId})`,
    `recording  ${recording.id}: ${recording.state}`,
  ];
  if (recording.filePath) lines.push(`file       ${recording.filePath}`);
  if (recording.state === 'ready') {
    lines.push(`duration   ${recording.duration?.toFixed(1)} s, size ${formatBytes(recording.size ?? 0)}`);
    lines.push(`sha256     ${recording.sha256}`);
    if (recording.thumbnailPath) lines.push(`thumbnail  ${recording.thumbnailPath}`);
  }
  if (recording.error) lines.push(`error      [${recording.error.code}] ${recording.error.message}`);
  if (recording.uploadTaskId) {
    lines.push(`upload     ${recording.uploadTaskId}: ${recording.uploadState ?? '-'}`);
  }
  if (recording.uploadError)
    lines.push(`           [${recording.uploadError.code}] ${recording.uploadError.message}`);
  return lines;
}

/**
 * `streamai record`: records in the foreground with the configured (or chosen) recorder until
 * Ctrl-C or --duration, then stops, shows the automatic upload's progress and a summary.
 * There is no station daemon to hand the recording to (issue 5), so the recorder, the manager
 * and the upload service run in this process.
 */
export async function recordAction(
  ctx: CommandContext,
  options: {
    sessionName?: string;
    duration?: string;
    recorder?: string;
    source?: string;
    upload: boolean;
    process: boolean;
  },
): Promise<number> {
  const { config, logger } = ctx;
  const duration =
    options.duration === undefined
      ? undefined
      : parseIntegerOption('--duration', options.duration, 1, 24 * 3600);
  const kind = parseRecorder(options.recorder) ?? config.recorder.kind;
  const wantUpload = options.upload && config.upload.autoUpload;
  if (wantUpload && config.upload.apiUrl === undefined) {
    note(
      'note: VULTR_API_URL is not set, so this recording is not uploaded (the station server runs an embedded ingest server; `streamai record` does not)',
    );
  }
  // The same composition as `serve`: one database, one upload service, one manager.
  const parts = buildStationParts(config, logger, {
    uploads: wantUpload && config.upload.apiUrl !== undefined ? {} : false,
    recording: { kind, source: options.source, autoUpload: true, autoProcess: options.process },
  });
  const { uploads, manager } = parts;
  if (!manager) throw new AppError('INTERNAL_ERROR', 'the composition built no recording manager');
  // First Ctrl-C (or SIGTERM) ends the recording; the next one, the wait for the upload.
  const stopRecording = new AbortController();
  const stopWaiting = new AbortController();
  let interrupted = false;
  const onSignal = (): void => {
    if (!stopRecording.signal.aborted) stopRecording.abort();
    else {
      interrupted = true;
      stopWaiting.abort();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    // The station's start order: the manager first, the upload workers last.
    await manager.start();
    uploads?.start();
    // RECORDING_MIN_FREE_BYTES holds for this foreground recorder as for the station (issue 15).
    const recordingsPath = config.station.recordingsPath;
    assertFreeSpace(recordingsPath, await freeBytes(recordingsPath), config.retention.minFreeBytes);
    const started = await manager.startRecording(options.sessionName ?? defaultSessionName());
    note(
      `recording "${started.sessionName}" with ${kind}${duration ? ` for ${duration} s` : ''} — press Ctrl-C to stop`,
    );
    // The duration, Ctrl-C, or the recorder stopping by itself (a live source ending).
    const ends =
      duration === undefined
        ? stopRecording.signal
        : AbortSignal.any([stopRecording.signal, AbortSignal.timeout(duration * 1000)]);
    await untilNotRecording(manager, ends);
    stopRecording.abort(); // from here a Ctrl-C means "stop waiting for the upload"
    const recording = manager.status().recording
      ? await manager.stopRecording()
      : ((await manager.whenFinalized(started.id)) ?? started);
    note(`stopped after ${seconds(recording.duration)}`);

    let final = manager.getRecording(recording.id) ?? recording;
    if (uploads && final.state === 'ready') {
      const view = uploadProgressView();
      const onProgress = (e: RecordingUploadEvent): void => {
        if (e.recordingId === final.id) view.update(e);
      };
      manager.on('upload-progress', onProgress);
      final = (await untilUploadFinished(manager, final.id, stopWaiting.signal)) ?? final;
      manager.off('upload-progress', onProgress);
      view.stop();
      if (interrupted)
        note('interrupted: the upload is kept and resumes with the next `streamai upload` or station start');
    }
    for (const line of summary(final)) print(line);
    return recordingExitCode(final, interrupted);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await parts.close();
  }
}

function sessionLine(s: SessionView): string {
  const date = s.createdAt.slice(0, 19).replace('T', ' ');
  return `${s.id}  ${date}  ${seconds(s.duration).padStart(9)}  ${formatBytes(s.size).padStart(10)}  ${String(s.recordings.length).padStart(3)} rec  ${s.status.padEnd(10)}  ${s.name}`;
}

/** `streamai list`: the sessions in the station database, most recent first. */
export async function listAction(
  ctx: CommandContext,
  options: { limit: string; json?: boolean },
): Promise<void> {
  const limit = parseIntegerOption('--limit', options.limit, 1, 10_000);
  // The read-only catalog: no recorder and no upload service are built to read the database.
  const parts = buildStationParts(ctx.config, ctx.logger, { uploads: false, recording: false });
  try {
    const sessions = parts.sessions.listSessions(limit);
    if (options.json) {
      print(JSON.stringify(sessions, null, 2));
      return;
    }
    if (sessions.length === 0) {
      print(`no sessions yet in ${path.resolve(ctx.config.station.recordingsPath)}`);
      return;
    }
    for (const s of sessions) {
      print(sessionLine(s));
      for (const r of s.recordings) {
        const upload = r.uploadTaskId ? `upload ${r.uploadState ?? '-'} (${r.uploadTaskId})` : 'not uploaded';
        print(
          `    ${r.id}  ${r.state.padEnd(10)}  ${seconds(r.duration).padStart(9)}  ${r.fileName ?? '-'}  ${upload}`,
        );
      }
    }
  } finally {
    await parts.close();
  }
}

/** `streamai status`: the recorder's reachability, the sessions, and pending and failed upload tasks. */
export async function statusAction(ctx: CommandContext, options: { json?: boolean }): Promise<number> {
  const { config, logger } = ctx;
  // A running station owns the recorder: ask it first, and fall back to a local look. The
  // sessions and upload tasks are read from the station database either way (the same file).
  const live = await new StationClient(stationUrl(config), config.station.apiToken, 3000)
    .status()
    .catch(() => undefined);
  const parts = buildStationParts(config, logger, { uploads: false, recording: false });
  let summary: StationSummary;
  try {
    summary = stationSummary(parts.sessions, parts.tasks);
  } finally {
    await parts.close();
  }
  const recordingsPath = path.resolve(config.station.recordingsPath);
  const dataLines = (): void => {
    print(`recordings ${recordingsPath}: ${summary.sessions} sessions, ${summary.recordings} recordings`);
    if (summary.unfinished > 0) print(`           ${summary.unfinished} recordings not finalised yet`);
  };
  // The ffmpeg in use (the system's when ≥ 5.1, else the packaged fallback), issue 14.
  const media = describeMediaTools();
  const mediaLine = (): void => print(`media      ${media}`);
  // A recording sent in parts: how many are on the server, and the backlog (VULTR_UPLOAD_MAX_RATE).
  const partLines = (): void => {
    for (const t of summary.uploadsInParts) print(`           ${t.fileName}: ${partsText(t.parts)}`);
  };
  const lastLine = (): void => {
    const last = summary.lastRecording;
    if (last)
      print(`last       ${last.sessionName} — ${last.state}, ${seconds(last.duration)}, ${last.startedAt}`);
  };
  if (live) {
    if (options.json)
      print(
        JSON.stringify({ station: stationUrl(config), ...live, recordingsPath, media, ...summary }, null, 2),
      );
    else {
      const r = live.recorder;
      print(`station    ${stationUrl(config)} (v${live.version})`);
      print(
        `recorder   ${r.kind}: ${r.connected ? 'connected' : 'NOT connected'}${r.recording ? `, recording "${r.session?.name ?? ''}" for ${r.elapsedSeconds} s` : ', idle'}`,
      );
      if (r.error) print(`           ${r.error}`);
      mediaLine();
      dataLines();
      print(
        `uploads    ${summary.uploadsPending} pending (${live.uploads.active} active), ${summary.uploadsFailed} failed; server ${live.vultr.url}${live.vultr.embedded ? ' (embedded)' : ''}, auto-upload ${live.vultr.autoUpload ? 'on' : 'off'}`,
      );
      partLines();
      lastLine();
    }
    return 0;
  }
  const recorder = createRecorder(config, logger);
  let recorderStatus: RecorderStatus;
  try {
    await recorder.start().catch(() => undefined);
    recorderStatus = recorder.status();
  } finally {
    await recorder.close();
  }
  const report = {
    recorder: {
      kind: recorderStatus.kind,
      reachable: recorderStatus.connected,
      recording: recorderStatus.recording,
      version: recorderStatus.version,
      error: recorderStatus.lastError,
      ...(recorderStatus.kind === 'obs'
        ? { url: `ws://${config.recorder.obs.host}:${config.recorder.obs.port}` }
        : { source: config.recorder.ffmpegSource }),
    },
    recordingsPath,
    media,
    autoUpload: config.upload.autoUpload,
    uploadServer: config.upload.apiUrl ?? null,
    ...summary,
  };
  if (options.json) print(JSON.stringify(report, null, 2));
  else {
    const r = report.recorder;
    const where = 'url' in r ? r.url : `source ${r.source}`;
    print(
      `recorder   ${r.kind} (${where}): ${r.reachable ? 'reachable' : 'NOT reachable'}${r.recording ? ', recording' : ''}${r.version ? ` — ${r.version}` : ''}`,
    );
    if (r.error) print(`           [${r.error.code}] ${r.error.message}`);
    mediaLine();
    dataLines();
    print(
      `uploads    ${summary.uploadsPending} pending, ${summary.uploadsFailed} failed; auto-upload ${report.autoUpload ? 'on' : 'off'}, server ${report.uploadServer ?? '(embedded, not configured)'}`,
    );
    partLines();
    lastLine();
  }
  return recorderExitCode(recorderStatus);
}
