import path from 'node:path';
import { StationClient, stationUrl } from '../api/index.js';
import cliProgress from 'cli-progress';
import { formatBytes, type Config } from '../config/index.js';
import { AppError, exitCodeFor, isErrorCode } from '../errors/index.js';
import { createRecorder, type RecorderKind, type RecorderStatus } from '../recorder/index.js';
import {
  defaultSessionName,
  RecordingManager,
  type RecordingUploadEvent,
  type RecordingView,
  type SessionView,
} from '../sessions/index.js';
import { openDatabase, stationMigrations, type Db } from '../store/index.js';
import { UploadService, uploadSettingsFromConfig } from '../uploads/index.js';
import { parseIntegerOption, type CommandContext } from './run-action.js';

function openStationDb(config: Config): Db {
  return openDatabase(path.join(config.station.dataDir, 'streamai.db'), stationMigrations);
}

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
  const db = openStationDb(config);
  const uploads =
    wantUpload && config.upload.apiUrl !== undefined
      ? new UploadService({ db, settings: uploadSettingsFromConfig(config), logger })
      : undefined;
  const recorder = createRecorder(config, logger, {
    kind,
    ...(options.source !== undefined ? { source: options.source } : {}),
  });
  const manager = new RecordingManager({
    recorder,
    db,
    recordingsPath: config.station.recordingsPath,
    uploads,
    autoUpload: uploads !== undefined,
    autoProcess: options.process,
    logger,
  });
  let interrupted = false;
  let wake: (() => void) | undefined;
  const onSignal = (): void => {
    interrupted = true;
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    uploads?.start();
    await manager.start();
    const started = await manager.startRecording(options.sessionName ?? defaultSessionName());
    note(
      `recording "${started.sessionName}" with ${kind}${duration ? ` for ${duration} s` : ''} — press Ctrl-C to stop`,
    );
    // Wait for the duration, Ctrl-C, or the recorder stopping by itself (a live source ending).
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        manager.off('state', onState);
        resolve();
      };
      const onState = (): void => {
        if (!manager.status().recording) done();
      };
      const timer = duration === undefined ? undefined : setTimeout(done, duration * 1000);
      manager.on('state', onState);
      wake = done;
      if (interrupted) done();
    });
    interrupted = false;
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
      await new Promise<void>((resolve) => {
        const check = (): void => {
          const current = manager.getRecording(final.id);
          const state = current?.uploadState ?? null;
          if (interrupted || state === 'completed' || state === 'failed' || state === 'cancelled') {
            manager.off('upload', onUpload);
            resolve();
          }
        };
        const onUpload = (e: RecordingUploadEvent): void => {
          if (e.recordingId === final.id) check();
        };
        manager.on('upload', onUpload);
        wake = () => {
          interrupted = true;
          check();
        };
        check();
      });
      manager.off('upload-progress', onProgress);
      view.stop();
      if (interrupted)
        note('interrupted: the upload is kept and resumes with the next `streamai upload` or station start');
      final = manager.getRecording(final.id) ?? final;
    }
    for (const line of summary(final)) print(line);
    if (final.state !== 'ready') {
      const code = final.error?.code;
      return code !== undefined && isErrorCode(code) ? exitCodeFor(code) : exitCodeFor('CORRUPT_MEDIA');
    }
    if (final.uploadState === 'failed' || final.uploadState === 'cancelled') {
      const code = final.uploadError?.code;
      return code !== undefined && isErrorCode(code) ? exitCodeFor(code) : exitCodeFor('UPLOAD_FAILED');
    }
    return interrupted ? 130 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await manager.close();
    await uploads?.close();
    db.close();
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
  const db = openStationDb(ctx.config);
  try {
    const manager = new RecordingManager({
      recorder: createRecorder(ctx.config, ctx.logger, { kind: 'ffmpeg', source: 'testsrc' }),
      db,
      recordingsPath: ctx.config.station.recordingsPath,
    });
    // Read-only: the manager is not started, so no recorder is touched.
    const sessions = manager.listSessions(limit);
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
    db.close();
  }
}

/** `streamai status`: the recorder's reachability and what the station database holds. */
export async function statusAction(ctx: CommandContext, options: { json?: boolean }): Promise<number> {
  const { config, logger } = ctx;
  // A running station owns the recorder: ask it first, and fall back to a local look.
  const live = await new StationClient(stationUrl(config), config.station.apiToken, 3000)
    .status()
    .catch(() => undefined);
  if (live) {
    if (options.json) print(JSON.stringify({ station: stationUrl(config), ...live }, null, 2));
    else {
      const r = live.recorder;
      print(`station    ${stationUrl(config)} (v${live.version})`);
      print(
        `recorder   ${r.kind}: ${r.connected ? 'connected' : 'NOT connected'}${r.recording ? `, recording "${r.session?.name ?? ''}" for ${r.elapsedSeconds} s` : ', idle'}`,
      );
      if (r.error) print(`           ${r.error}`);
      print(
        `uploads    ${live.uploads.active} active, ${live.uploads.queued} queued; server ${live.vultr.url}${live.vultr.embedded ? ' (embedded)' : ''}, auto-upload ${live.vultr.autoUpload ? 'on' : 'off'}`,
      );
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
  const db = openStationDb(config);
  let sessions: SessionView[];
  try {
    const manager = new RecordingManager({ recorder, db, recordingsPath: config.station.recordingsPath });
    sessions = manager.listSessions(10_000);
  } finally {
    db.close();
  }
  const recordings = sessions.flatMap((s) => s.recordings);
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
    recordingsPath: path.resolve(config.station.recordingsPath),
    autoUpload: config.upload.autoUpload,
    uploadServer: config.upload.apiUrl ?? null,
    sessions: sessions.length,
    recordings: recordings.length,
    unfinished: recordings.filter((r) => r.state === 'recording' || r.state === 'finalizing').length,
    uploadsPending: recordings.filter(
      (r) => r.uploadState !== null && !['completed', 'failed', 'cancelled'].includes(r.uploadState),
    ).length,
    uploadsFailed: recordings.filter((r) => r.uploadState === 'failed').length,
    lastRecording: recordings.sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0] ?? null,
  };
  if (options.json) print(JSON.stringify(report, null, 2));
  else {
    const r = report.recorder;
    const where = 'url' in r ? r.url : `source ${r.source}`;
    print(
      `recorder   ${r.kind} (${where}): ${r.reachable ? 'reachable' : 'NOT reachable'}${r.recording ? ', recording' : ''}${r.version ? ` — ${r.version}` : ''}`,
    );
    if (r.error) print(`           [${r.error.code}] ${r.error.message}`);
    print(
      `recordings ${report.recordingsPath}: ${report.sessions} sessions, ${report.recordings} recordings`,
    );
    print(
      `uploads    auto-upload ${report.autoUpload ? 'on' : 'off'}, server ${report.uploadServer ?? '(embedded, not configured)'}; ${report.uploadsPending} pending, ${report.uploadsFailed} failed`,
    );
    if (report.unfinished > 0) print(`           ${report.unfinished} recordings not finalised yet`);
    if (report.lastRecording) {
      const last = report.lastRecording;
      print(`last       ${last.sessionName} — ${last.state}, ${seconds(last.duration)}, ${last.startedAt}`);
    }
  }
  return recorderStatus.connected
    ? 0
    : exitCodeFor((recorderStatus.lastError?.code as 'OBS_UNREACHABLE') ?? 'RECORDER_UNAVAILABLE');
}
