import { describeMediaTools } from '../media/index.js';
import { formatBytes } from '../config/index.js';
import { AppError, isAppError } from '../errors/index.js';
import {
  confirmationText,
  describeFailure,
  isTaskId,
  keepWasmAtBaselineTier,
  partsText,
  processingFromRemote,
  runConnectionCheck,
  uploadSettingsFromConfig,
  withStoredObject,
  type ConnectionCheck,
  type UploadProgress,
  type UploadSettings,
  type UploadTask,
} from '../uploads/index.js';
// The files, not the composition's index: that face also builds recorders and the sessions
// part, which none of these commands use (docs/ARCHITECTURE.md, "Commands load what they use").
import { buildStationCore } from '../composition/station-core.js';
import { uploadExitCode } from '../composition/outcomes.js';
import { parseIntegerOption, type CommandContext } from './run-action.js';

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function percent(task: { bytesSent: number; size: number; parts?: UploadTask['parts'] }): string {
  // A recording still sent while it records has no final size: its parts line says where it is.
  if (task.parts?.mode === 'parts' && task.parts.total === null) return '-';
  return task.size > 0 ? `${Math.min(100, Math.floor((task.bytesSent / task.size) * 100))}%` : '-';
}

function resultLine(task: UploadTask): string {
  if (task.state === 'completed' && task.object) {
    const { bucket, key, etag, verifiedBy } = task.object;
    const how =
      verifiedBy === 'etag' ? `ETag ${etag} verified` : `ETag ${etag}, read back and sha256 compared`;
    return `completed ${task.id}: ${task.fileName} (${formatBytes(task.size)}) stored in s3://${bucket}/${key}, ${how}, sha256 ${task.sha256}`;
  }
  if (task.state === 'completed') {
    const ratio =
      task.compressionRatio === null ? '' : `, compressed to ${Math.round(task.compressionRatio * 100)}%`;
    return `completed ${task.id}: ${task.fileName} (${formatBytes(task.size)} via ${task.protocol}${ratio}), ${confirmationText(task)}`;
  }
  return `${task.state} ${task.id}: ${task.fileName}`;
}

/**
 * Shows progress on stderr: a bar on a terminal, a line per 10% otherwise. cli-progress is
 * imported only to draw a bar (~20 ms of every start otherwise).
 */
async function progressView(
  quiet: boolean,
): Promise<{ update: (p: UploadProgress) => void; stop: () => void }> {
  if (quiet) return { update: () => undefined, stop: () => undefined };
  if (process.stderr.isTTY) {
    const { default: cliProgress } = await import('cli-progress');
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: '{bar} {percentage}% | {sent} / {total} | {rate}/s | ETA {eta}',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    return {
      update: (p) => {
        const payload = {
          sent: formatBytes(p.bytesSent),
          total: formatBytes(p.totalBytes),
          rate: formatBytes(p.rateBytesPerSecond),
          eta: p.etaSeconds === null ? '-' : `${p.etaSeconds}s`,
        };
        if (!started) {
          bar.start(p.totalBytes, p.bytesSent, payload);
          started = true;
        } else bar.update(p.bytesSent, payload);
      },
      stop: () => {
        if (started) bar.stop();
      },
    };
  }
  let shown = -1;
  return {
    update: (p) => {
      const tenth = p.totalBytes > 0 ? Math.floor((p.bytesSent / p.totalBytes) * 10) : 0;
      if (tenth === shown) return;
      shown = tenth;
      const eta = p.etaSeconds === null ? '' : `, ETA ${p.etaSeconds}s`;
      process.stderr.write(
        `${tenth * 10}% ${formatBytes(p.bytesSent)} / ${formatBytes(p.totalBytes)} at ${formatBytes(p.rateBytesPerSecond)}/s${eta}\n`,
      );
    },
    stop: () => undefined,
  };
}

/**
 * `streamai upload`: there is no station daemon yet to hand a task to, so the command runs the
 * upload service in the foreground until its task finishes (other unfinished tasks in the
 * queue are resumed alongside). It prints the task id at once, then the result. `--wait` adds
 * a progress bar. Ctrl-C leaves the task resumable: the same command again continues it.
 */
export async function uploadAction(
  ctx: CommandContext,
  file: string,
  options: { sessionName?: string; process: boolean; wait?: boolean; json?: boolean },
): Promise<number> {
  // This process exists for the upload: nothing has compiled WebAssembly yet (see wasm-tier.ts).
  keepWasmAtBaselineTier();
  const view = await progressView(!options.wait || options.json === true);
  // The same composition as `serve`, with the configured server (CONFIG_INVALID without one).
  const parts = buildStationCore(ctx.config, ctx.logger, {});
  const service = parts.uploads;
  if (!service) throw new AppError('INTERNAL_ERROR', 'the composition built no upload service');
  const stopSignals = ['SIGINT', 'SIGTERM'] as const;
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    void service.close();
  };
  for (const s of stopSignals) process.once(s, onSignal);
  try {
    // Enqueued before the workers start, so a resumed task's new options are in place before
    // any attempt reads them.
    const task = await service.enqueue(file, {
      ...(options.sessionName !== undefined ? { sessionName: options.sessionName } : {}),
      autoProcess: options.process,
      requireFile: true,
    });
    service.start();
    if (!options.json) print(task.id);
    if (task.optionsNotice !== null) process.stderr.write(`note: ${task.optionsNotice}\n`);
    service.on('progress', (p) => {
      if (p.taskId === task.id) view.update(p);
    });
    let finished: UploadTask;
    try {
      finished = await service.waitFor(task.id);
    } catch (error) {
      if (interrupted) {
        view.stop();
        process.stderr.write(`interrupted: ${task.id} is kept; run the same command again to resume it\n`);
        return 130;
      }
      throw error;
    }
    view.stop();
    if (options.json) print(JSON.stringify(finished, null, 2));
    else if (finished.state === 'completed') print(resultLine(finished));
    if (finished.state !== 'completed') {
      const error = finished.lastError ?? { code: 'UPLOAD_FAILED', message: `${finished.state}` };
      process.stderr.write(`error [${error.code}]: ${error.message}\n`);
    }
    return uploadExitCode(finished);
  } finally {
    for (const s of stopSignals) process.removeListener(s, onSignal);
    view.stop();
    await parts.close();
  }
}

export async function uploadsAction(
  ctx: CommandContext,
  options: { limit: string; json?: boolean },
): Promise<void> {
  const limit = parseIntegerOption('--limit', options.limit, 1, 1000);
  // The queue read from the database: no upload service, no server URL, no connection.
  const parts = buildStationCore(ctx.config, ctx.logger, false);
  try {
    const tasks = parts.tasks.list(limit).map((t) => withStoredObject(parts.db, t));
    if (options.json) {
      print(JSON.stringify(tasks, null, 2));
      return;
    }
    if (tasks.length === 0) {
      print('no uploads yet');
      return;
    }
    for (const t of tasks) {
      const error = t.lastError && t.state !== 'completed' ? `  ${t.lastError.code}` : '';
      const s3 = t.s3?.partCount
        ? `  ${t.s3.partsInBucket}/${t.s3.partCount} parts → s3://${t.s3.bucket}/${t.s3.key}`
        : '';
      const inParts = t.parts ? `  (${partsText(t.parts)})` : '';
      print(
        `${t.id}  ${t.state.padEnd(10)} ${percent(t).padStart(4)}  ${formatBytes(t.size).padStart(10)}  ${t.createdAt}  ${t.fileName}${s3}${error}${inParts}`,
      );
    }
  } finally {
    await parts.close();
  }
}

/** An S3 task's target, parts and processing start, in words (upload-status). */
function s3Lines(task: UploadTask): string[] {
  const s3 = task.s3;
  if (!s3) return [];
  const lines = [
    `target: ${task.target?.url ?? `s3://${s3.bucket}/`} at ${s3.endpoint ?? 'AWS (region default)'}`,
  ];
  lines.push(
    s3.partCount === null
      ? `parts: none yet, key ${s3.key}`
      : `parts: ${s3.partsInBucket} of ${s3.partCount} in the bucket, key ${s3.key}`,
  );
  const p = s3.processing;
  if (p?.state === 'started') lines.push(`processing: started on the server (POST /process-object)`);
  else if (p) {
    const why = p.lastError ? ` [${p.lastError.code}]: ${p.lastError.message}` : '';
    lines.push(
      p.state === 'failed'
        ? `processing: the server did not start it${why}`
        : `processing: not started yet (${p.attempts} requests so far${p.nextAttemptAt ? `, next at ${p.nextAttemptAt}` : ''})${why}`,
    );
  }
  return lines;
}

/** The server's view in words: its state, processing progress, report figures and outputs. */
function printRemote(remote: unknown, apiUrl: string | undefined, taskId: string): void {
  const processing = processingFromRemote(remote);
  if (!processing) {
    print(`server: ${JSON.stringify(remote)}`);
    return;
  }
  print(
    `server: ${processing.state}${processing.state === 'processing' ? ` (${Math.round(processing.progress * 100)}%)` : ''}`,
  );
  if (processing.error) print(`  processing failed [${processing.error.code}]: ${processing.error.message}`);
  const r = processing.report;
  if (r) {
    const n = (key: string): string => (typeof r[key] === 'number' ? (r[key] as number).toFixed(2) : '-');
    print(
      `  report: original ${n('original_duration')} s, edited ${n('edited_duration')} s, saved ${n('time_saved')} s, ` +
        `${typeof r.segments_removed === 'number' ? r.segments_removed : '-'} silences cut (${n('silence_removed')} s)`,
    );
  }
  const failedSteps = Array.isArray(r?.failed_steps)
    ? (r.failed_steps as Array<{ name?: unknown; code?: unknown; message?: unknown }>)
    : [];
  for (const step of failedSteps)
    print(`  step ${String(step.name)} failed [${String(step.code)}]: ${String(step.message)}`);
  for (const output of processing.outputs) {
    const where = apiUrl ? `  ${apiUrl}/outputs/${encodeURIComponent(taskId)}/${output.name}` : '';
    print(`  output ${output.name.padEnd(18)} ${formatBytes(output.size).padStart(10)}${where}`);
  }
}

export async function uploadStatusAction(
  ctx: CommandContext,
  taskId: string,
  options: { json?: boolean },
): Promise<number> {
  if (!isTaskId(taskId)) throw new AppError('INVALID_TASK_ID', `"${taskId}" is not a task id (task_…)`);
  // The local task from the database; an upload service (for the server's /status) only when a
  // server is configured.
  const hasServer = ctx.config.upload.apiUrl !== undefined;
  const parts = buildStationCore(ctx.config, ctx.logger, hasServer ? {} : false);
  try {
    const task = withStoredObject(parts.db, parts.tasks.get(taskId));
    let remote: unknown;
    let remoteError: { code: string; message: string } | undefined;
    if (ctx.config.upload.apiUrl === undefined) {
      // No server configured: a running station (with its embedded ingest server) may know.
      // Imported here: the client's response schemas (TypeBox) are not needed by `streamai upload`.
      const { StationClient, stationUrl } = await import('../api/station-client.js');
      const viaStation = task
        ? await new StationClient(stationUrl(ctx.config), ctx.config.station.apiToken, 5000)
            .uploadStatus(taskId)
            .catch(() => undefined)
        : undefined;
      if (viaStation) remote = viaStation.server ?? undefined;
      else
        remoteError = {
          code: 'CONFIG_INVALID',
          message: 'VULTR_API_URL is not set and no station answers: the server was not asked',
        };
    } else {
      try {
        remote = task && parts.uploads ? await parts.uploads.remoteStatus(taskId) : undefined;
      } catch (error) {
        const appError = isAppError(error) ? error : new AppError('SERVER_UNREACHABLE', String(error));
        remoteError = appError.toJSON();
      }
    }
    if (!task) throw new AppError('TASK_NOT_FOUND', `no upload task ${taskId} on this station`);
    if (options.json) {
      print(
        JSON.stringify(
          {
            task,
            history: parts.tasks.history(taskId),
            remote: remote ?? null,
            remoteError: remoteError ?? null,
          },
          null,
          2,
        ),
      );
      return 0;
    }
    print(`${task.id}  ${task.state}  ${percent(task)} of ${formatBytes(task.size)}  ${task.filePath}`);
    if (task.parts) print(`parts: ${partsText(task.parts)}`);
    if (task.sha256) print(`sha256 ${task.sha256}${task.protocol ? `  via ${task.protocol}` : ''}`);
    if (task.lastError) print(`last error [${task.lastError.code}]: ${task.lastError.message}`);
    if (task.nextAttemptAt && task.state === 'retry_wait') print(`next attempt at ${task.nextAttemptAt}`);
    print('history:');
    for (const e of parts.tasks.history(taskId)) print(`  ${e.at}  ${e.state.padEnd(10)} ${e.message ?? ''}`);
    if (task.protocol === 's3' || task.s3) {
      // UPLOAD_TARGET=s3: the bucket, not a server, holds it; the server may process it after.
      const o = task.object;
      print(
        o
          ? `bucket: s3://${o.bucket}/${o.key}  ETag ${o.etag}  manifest ${o.manifestKey}`
          : `bucket: ${task.remoteUrl ?? 'no upload created yet'}`,
      );
      for (const line of s3Lines(task)) print(line);
      if (task.s3?.processing?.state !== 'started') return 0;
    }
    if (remoteError) print(`server: not available [${remoteError.code}]: ${remoteError.message}`);
    else if (remote === undefined) print('server: does not know this task');
    else printRemote(remote, ctx.config.upload.apiUrl, taskId);
    return 0;
  } finally {
    await parts.close();
  }
}

/**
 * `streamai test`: the integration check — configuration, then `runConnectionCheck` (/health,
 * auth, a round-trip upload of a short clip it makes, that clip's status); one ✓/✗ line each.
 */
export async function testAction(ctx: CommandContext, options: { json?: boolean }): Promise<number> {
  const checks: ConnectionCheck[] = [];
  const show = (check: ConnectionCheck): void => {
    checks.push(check);
    if (!options.json) print(`${check.ok ? '✓' : '✗'} ${check.name}: ${check.detail}`);
  };
  // The ffmpeg this machine uses to check and compress what it uploads (issue 14).
  show({ name: 'ffmpeg', ok: true, detail: describeMediaTools() });
  let settings: UploadSettings | undefined;
  try {
    settings = uploadSettingsFromConfig(ctx.config);
    show({
      name: 'configuration',
      ok: true,
      detail: settings.s3
        ? `UPLOAD_TARGET=s3, S3_BUCKET=${settings.s3.bucket}, S3_ENDPOINT=${settings.s3.endpoint ?? '(AWS)'}`
        : `VULTR_API_URL=${settings.apiUrl}${settings.apiKey ? ', API key set' : ''}`,
    });
  } catch (error) {
    show({ name: 'configuration', ok: false, detail: describeFailure(error) });
  }
  if (settings) await runConnectionCheck(settings, { roundTrip: true, onCheck: show, logger: ctx.logger });
  const ok = checks.every((c) => c.ok);
  if (options.json) print(JSON.stringify({ ok, checks }, null, 2));
  return ok ? 0 : 1;
}
