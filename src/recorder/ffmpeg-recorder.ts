import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { access, constants, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import { ffmpegPath } from '../media/index.js';
import { ffmpegInputArgs, parseFfmpegSource, type FfmpegSource } from './ffmpeg-source.js';
import { SegmentWatcher } from './segment-watcher.js';
import type {
  Recorder,
  RecorderEvents,
  RecorderStatus,
  RecordingFinishedEvent,
  RecordingStartedEvent,
  StartRecordingOptions,
} from './recorder.js';

/** Options of the ffmpeg recorder; defaults in brackets. */
export interface FfmpegRecorderOptions {
  /** FFMPEG_SOURCE text or a parsed source [testsrc]. */
  source?: string | FfmpegSource;
  logger?: Logger;
  /** ffmpeg binary [the packaged one]. */
  ffmpeg?: string;
  /** How long to wait for ffmpeg to produce its first output before giving up [20 s]. */
  startTimeoutMs?: number;
  /** How long `q` on stdin may take to finalise the file before a signal is sent [15 s]. */
  stopTimeoutMs?: number;
  /** RECORDING_SEGMENT_SECONDS: close a part every N seconds; 0 = one file [0]. */
  segmentSeconds?: number;
}

interface Running {
  child: ChildProcess;
  outputPath: string;
  startedAt: string;
  stopping: boolean;
  exited: Promise<RecordingFinishedEvent>;
}

/**
 * Records with the packaged ffmpeg into a Matroska file in the session folder. Stops gracefully
 * (`q` on stdin, then SIGINT, then SIGKILL) so the file is finalised and playable.
 */
export class FfmpegRecorder extends EventEmitter<RecorderEvents> implements Recorder {
  readonly kind = 'ffmpeg' as const;
  readonly source: FfmpegSource;
  private readonly logger: Logger;
  private readonly binary: string;
  private readonly startTimeoutMs: number;
  private readonly stopTimeoutMs: number;
  private readonly segmentSeconds: number;
  private running: Running | undefined;
  private lastError: { code: string; message: string } | null = null;

  constructor(options: FfmpegRecorderOptions = {}) {
    super();
    const source = options.source ?? 'testsrc';
    this.source = typeof source === 'string' ? parseFfmpegSource(source) : source;
    this.logger = options.logger ?? silentLogger();
    this.binary = options.ffmpeg ?? ffmpegPath;
    this.startTimeoutMs = options.startTimeoutMs ?? 20_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 15_000;
    this.segmentSeconds = options.segmentSeconds ?? 0;
  }

  async start(): Promise<void> {
    try {
      await access(this.binary, constants.X_OK);
      this.lastError = null;
    } catch (error) {
      this.lastError = { code: 'RECORDER_UNAVAILABLE', message: `ffmpeg is not executable: ${this.binary}` };
      throw new AppError('RECORDER_UNAVAILABLE', this.lastError.message, { cause: error });
    }
  }

  async close(): Promise<void> {
    if (this.running) {
      try {
        await this.stopRecording();
      } catch (error) {
        this.logger.warn({ err: error }, 'ffmpeg recording could not be finalised on close');
      }
    }
  }

  status(): RecorderStatus {
    return {
      kind: 'ffmpeg',
      connected: this.lastError === null,
      reconnecting: false,
      recording: this.running !== undefined,
      startedAt: this.running?.startedAt ?? null,
      outputPath: this.running?.outputPath ?? null,
      recordsIntoDirectory: true,
      lastError: this.lastError,
      version: null,
    };
  }

  async startRecording(options: StartRecordingOptions): Promise<RecordingStartedEvent> {
    if (this.running) throw new AppError('ALREADY_RECORDING', 'ffmpeg is already recording');
    await mkdir(options.directory, { recursive: true });
    const outputPath = path.join(options.directory, `${options.baseName}.mkv`);
    const reencoded = this.source.type !== 'url';
    // Encoded parts (H.264 + AAC) are MPEG-TS, written append-only so the part being written can
    // be sent while it grows; a copied stream may hold any codec, which only Matroska takes.
    const segments =
      this.segmentSeconds > 0
        ? new SegmentWatcher(outputPath, this.logger, reencoded ? 'mpegts' : 'matroska')
        : undefined;
    if (segments) await segments.prepare();
    const args = [
      '-hide_banner',
      '-nostats',
      // "info" for the "Press [q] to stop" line, which marks the moment recording begins.
      '-loglevel',
      'info',
      '-progress',
      'pipe:1',
      '-n',
      ...ffmpegInputArgs(this.source, await this.screenSize()),
      ...(segments ? segments.outputArgs(this.segmentSeconds, reencoded) : ['-f', 'matroska', outputPath]),
    ];
    this.logger.info({ outputPath, source: this.source }, 'ffmpeg recording starting');
    const child = spawn(this.binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let startedAt = new Date().toISOString();
    let firstProgress: (() => void) | undefined;
    const producing = new Promise<void>((resolve) => {
      firstProgress = () => {
        if (firstProgress) startedAt = new Date().toISOString();
        firstProgress = undefined;
        resolve();
      };
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-4000);
      if (chunk.includes('Press [q]')) firstProgress?.();
    });
    // Writing "q" to an ffmpeg that already quit would raise EPIPE; it is harmless here.
    child.stdin?.on('error', () => undefined);

    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('progress=')) firstProgress?.();
    });

    const exited = new Promise<RecordingFinishedEvent>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => {
        const running = this.running;
        if (running?.child === child) this.running = undefined;
        const stoppedAt = new Date().toISOString();
        const stoppedByUs = running?.stopping ?? false;
        void (segments ? segments.finish() : Promise.resolve(undefined))
          .then(async (parts) => (parts ? parts.length > 0 : (await stat(outputPath)).size > 0))
          .catch(() => false)
          .then((hasFile) => {
            this.logger.info({ code, signal, outputPath, hasFile }, 'ffmpeg recording ended');
            if (!hasFile) {
              const message = `ffmpeg produced no recording (exit ${code ?? signal}): ${lastLine(stderr)}`;
              this.emit('lost', { startedAt, stoppedAt, message });
              reject(new AppError('FFMPEG_FAILED', message));
              return;
            }
            const event: RecordingFinishedEvent = {
              outputPath,
              startedAt,
              stoppedAt,
              // ffmpeg ending on its own (a live stream that ended) is not our stop.
              external: !stoppedByUs,
              // Ctrl-C in a terminal reaches ffmpeg too; it then finalises the file as on "q".
              interrupted: !stoppedByUs && code !== 0 && !/received signal 2\b/.test(stderr),
              ...(segments ? { segments: segments.closed() } : {}),
            };
            this.emit('finished', event);
            resolve(event);
          });
      });
    });
    // Nobody may be waiting on `exited` when ffmpeg fails by itself; the 'lost' event reports it.
    exited.catch(() => undefined);
    this.running = { child, outputPath, startedAt, stopping: false, exited };

    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      producing.then(() => 'producing' as const),
      exited.then(
        () => 'exited' as const,
        () => 'exited' as const,
      ),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.startTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (outcome !== 'producing') {
      if (outcome === 'timeout') {
        child.kill('SIGKILL');
        await exited.catch(() => undefined);
      }
      this.running = undefined;
      await segments?.finish();
      throw new AppError(
        'RECORDER_UNAVAILABLE',
        `ffmpeg could not start recording from ${describe(this.source)}: ${lastLine(stderr) || outcome}`,
      );
    }
    if (this.running?.child === child) this.running.startedAt = startedAt;
    const event: RecordingStartedEvent = { startedAt, outputPath, external: false, pid: child.pid };
    this.emit('started', event);
    segments?.watch(
      (segment) => this.emit('segment', segment),
      (segment) => this.emit('segment-open', segment),
    );
    return event;
  }

  /**
   * The X screen's size for the screen source: asked of x11grab itself (an oversized capture area
   * is refused with "outside the screen size WxH"), so no X tools are needed.
   */
  private async screenSize(): Promise<string | undefined> {
    if (this.source.type !== 'screen') return undefined;
    const display = this.source.display ?? '+0,0';
    const args = ['-hide_banner', '-f', 'x11grab', '-video_size', '16384x16384', '-i', display];
    const stderr = await new Promise<string>((resolve) => {
      const child = spawn(this.binary, [...args, '-frames:v', '1', '-f', 'null', '-'], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let text = '';
      child.stderr?.setEncoding('utf8').on('data', (c: string) => (text += c));
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('error', () => resolve(''));
      child.once('close', () => {
        clearTimeout(timer);
        resolve(text);
      });
    });
    return /screen size (\d+x\d+)/.exec(stderr)?.[1];
  }

  async stopRecording(): Promise<RecordingFinishedEvent> {
    const running = this.running;
    if (!running) throw new AppError('NOT_RECORDING', 'ffmpeg is not recording');
    running.stopping = true;
    const { child } = running;
    child.stdin?.write('q');
    child.stdin?.end();
    const timers: NodeJS.Timeout[] = [
      setTimeout(() => child.kill('SIGINT'), this.stopTimeoutMs),
      setTimeout(() => child.kill('SIGKILL'), this.stopTimeoutMs + 5_000),
    ];
    try {
      return await running.exited;
    } finally {
      for (const t of timers) clearTimeout(t);
    }
  }
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines[lines.length - 1] ?? '').trim();
}

function describe(source: FfmpegSource): string {
  switch (source.type) {
    case 'testsrc':
      return 'the test pattern';
    case 'screen':
      return `screen ${source.display ?? '$DISPLAY'}`;
    case 'v4l2':
      return source.device;
    case 'url':
      return source.input;
  }
}
