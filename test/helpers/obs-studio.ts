import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { OBSWebSocket } from 'obs-websocket-js';

/** A real OBS Studio running headless under its own Xvfb, with obs-websocket enabled. */
export interface ObsStudio {
  /** ws://127.0.0.1:<port> */
  url: string;
  host: string;
  port: number;
  password: string;
  /** OBS's own HOME (its settings live in .config/obs-studio). */
  home: string;
  /** Where OBS writes recordings (the profile's FilePath). */
  recordDir: string;
  /** The X display OBS draws on, e.g. ":99". */
  display: string;
  /** SIGKILLs OBS (Xvfb stays), as a crash would. */
  kill(): Promise<void>;
  /** Starts OBS again with the same settings and port; resolves when its websocket answers. */
  restart(): Promise<void>;
  /** Ends OBS and Xvfb and removes the temporary HOME. */
  close(): Promise<void>;
}

export interface ObsStudioOptions {
  password?: string;
  /** Bound on each wait: Xvfb ready, websocket answering [60 s]. */
  timeoutMs?: number;
  /**
   * The profile's output mode [simple]. OBS 29 splits recordings into files only in Advanced
   * mode; `advanced` records MKV with x264 at `bitrateKbps` (CBR, a keyframe every second).
   */
  outputMode?: 'simple' | 'advanced';
  /** Advanced mode's video bitrate [1000 kb/s]. */
  bitrateKbps?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Ends a child: SIGTERM, then SIGKILL after graceMs. Always resolves. */
export async function stopChild(child: ChildProcess | undefined, graceMs: number): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = exitOf(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Starts Xvfb on a display it picks itself (-displayfd), bounded by timeoutMs. */
export async function startXvfb(timeoutMs: number): Promise<{ child: ChildProcess; display: string }> {
  const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x720x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-2000)));
  const fd3 = child.stdio[3];
  const display = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`Xvfb did not start in ${timeoutMs} ms: ${stderr}`)),
      timeoutMs,
    );
    fd3?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(`:${text.trim()}`);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Xvfb exited (${code}): ${stderr}`));
    });
  }).catch(async (error: unknown) => {
    await stopChild(child, 1000);
    throw error;
  });
  return { child, display };
}

function globalIni(port: number, password: string): string {
  return [
    '[General]',
    'FirstRun=true',
    'LastVersion=486539264',
    'EnableAutoUpdates=false',
    '',
    '[Basic]',
    'Profile=StreamAI',
    'ProfileDir=StreamAI',
    'SceneCollection=StreamAI',
    'SceneCollectionFile=StreamAI',
    '',
    '[BasicWindow]',
    'SysTrayEnabled=true',
    'SysTrayWhenStarted=true',
    'WarnBeforeStartingRecord=false',
    'WarnBeforeStoppingRecord=false',
    'RecordWhenStreaming=false',
    '',
    // OBS 29 (obs-websocket 5.1) reads its websocket settings from here.
    '[OBSWebSocket]',
    'FirstLoad=false',
    'ServerEnabled=true',
    `ServerPort=${port}`,
    'AlertsEnabled=false',
    'AuthRequired=true',
    `ServerPassword=${password}`,
    '',
  ].join('\n');
}

function profileIni(recordDir: string, mode: 'simple' | 'advanced'): string {
  return [
    '[General]',
    'Name=StreamAI',
    '',
    '[Output]',
    `Mode=${mode === 'advanced' ? 'Advanced' : 'Simple'}`,
    '',
    // Advanced mode: a standard recording using the stream encoder (its settings in streamEncoder.json).
    '[AdvOut]',
    'RecType=Standard',
    `RecFilePath=${recordDir}`,
    'RecFormat=mkv',
    'Encoder=obs_x264',
    'RecEncoder=none',
    'RecTracks=1',
    'TrackIndex=1',
    '',
    '[SimpleOutput]',
    `FilePath=${recordDir}`,
    'RecFormat=mkv',
    'RecFormat2=mkv',
    'RecQuality=Stream',
    'StreamEncoder=x264',
    'RecEncoder=x264',
    'VBitrate=1000',
    'ABitrate=128',
    'Preset=ultrafast',
    '',
    '[Video]',
    'BaseCX=640',
    'BaseCY=360',
    'OutputCX=640',
    'OutputCY=360',
    'FPSType=0',
    'FPSCommon=30',
    '',
    '[Audio]',
    'SampleRate=48000',
    'ChannelSetup=Stereo',
    '',
  ].join('\n');
}

/** A scene with a colour source, so recordings have real (if simple) pictures. */
function sceneCollection(): string {
  const color = {
    id: 'color_source_v3',
    versioned_id: 'color_source_v3',
    name: 'Colour',
    uuid: '6c1f0d2e-6b5b-4a8e-9d0e-3c2b8f1a0001',
    settings: { color: 4278222848, width: 640, height: 360 },
    enabled: true,
  };
  const scene = {
    id: 'scene',
    versioned_id: 'scene',
    name: 'Scene',
    uuid: '6c1f0d2e-6b5b-4a8e-9d0e-3c2b8f1a0002',
    settings: { items: [{ name: 'Colour', source_uuid: color.uuid, visible: true, id: 1 }], id_counter: 1 },
    enabled: true,
  };
  return JSON.stringify({
    name: 'StreamAI',
    current_scene: 'Scene',
    current_program_scene: 'Scene',
    scene_order: [{ name: 'Scene' }],
    sources: [scene, color],
    groups: [],
    transitions: [],
  });
}

/** Tries to identify with obs-websocket until it answers or the deadline passes. */
async function waitForWebsocket(url: string, password: string, obs: ChildProcess, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (obs.exitCode !== null || obs.signalCode !== null) {
      throw new Error(`OBS exited (${obs.exitCode ?? obs.signalCode}) before its websocket answered`);
    }
    const client = new OBSWebSocket();
    try {
      await Promise.race([
        client.connect(url, password),
        new Promise((_, reject) => setTimeout(() => reject(new Error('identify timed out')), 3000)),
      ]);
      await client.disconnect();
      return;
    } catch (error) {
      lastError = error;
      await client.disconnect().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error(`OBS websocket did not answer on ${url} within ${timeoutMs} ms: ${String(lastError)}`);
}

/**
 * Starts Debian's OBS Studio headless: Xvfb, its own HOME with global.ini (websocket on a free
 * port, password required), a simple-output profile recording MKV into `recordDir`, and
 * LIBGL_ALWAYS_SOFTWARE=1. Resolves once the websocket identifies; every wait is bounded.
 * With `t`, everything is ended when the test ends.
 */
export async function startObsStudio(t?: TestContext, options: ObsStudioOptions = {}): Promise<ObsStudio> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const password = options.password ?? 'streamai-test-password';
  const home = await mkdtemp(path.join(tmpdir(), 'streamai-obs-'));
  const recordDir = path.join(home, 'Videos');
  const config = path.join(home, '.config', 'obs-studio');
  await mkdir(recordDir, { recursive: true });
  await mkdir(path.join(config, 'basic', 'profiles', 'StreamAI'), { recursive: true });
  await mkdir(path.join(config, 'basic', 'scenes'), { recursive: true });
  const port = await freePort();
  await writeFile(path.join(config, 'global.ini'), globalIni(port, password));
  const profile = path.join(config, 'basic', 'profiles', 'StreamAI');
  await writeFile(path.join(profile, 'basic.ini'), profileIni(recordDir, options.outputMode ?? 'simple'));
  const encoder = {
    rate_control: 'CBR',
    bitrate: options.bitrateKbps ?? 1000,
    keyint_sec: 1,
    preset: 'ultrafast',
  };
  await writeFile(path.join(profile, 'streamEncoder.json'), JSON.stringify(encoder));
  await writeFile(path.join(config, 'basic', 'scenes', 'StreamAI.json'), sceneCollection());

  const { child: xvfb, display } = await startXvfb(timeoutMs);
  let obs: ChildProcess | undefined;
  // If the test process dies without closing, do not leave OBS and Xvfb running.
  const killOnExit = (): void => {
    obs?.kill('SIGKILL');
    xvfb.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let obsLog = '';
  let closed = false;

  const launchObs = async (): Promise<void> => {
    obsLog = '';
    obs = spawn('obs', ['--minimize-to-tray', '--disable-shutdown-check', '--multi'], {
      cwd: home,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        DISPLAY: display,
        LIBGL_ALWAYS_SOFTWARE: '1',
        XDG_CONFIG_HOME: path.join(home, '.config'),
        XDG_RUNTIME_DIR: home,
        QT_QPA_PLATFORM: 'xcb',
        LANG: 'C.UTF-8',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (c: Buffer) => (obsLog = (obsLog + c.toString()).slice(-4000));
    obs.stdout?.on('data', keep);
    obs.stderr?.on('data', keep);
    try {
      await waitForWebsocket(`ws://127.0.0.1:${port}`, password, obs, timeoutMs);
    } catch (error) {
      await stopChild(obs, 2000);
      throw new Error(`${(error as Error).message}\n--- OBS output ---\n${obsLog}`);
    }
  };

  const studio: ObsStudio = {
    url: `ws://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    password,
    home,
    recordDir,
    display,
    async kill() {
      if (!obs) return;
      const exited = exitOf(obs);
      obs.kill('SIGKILL');
      await exited;
    },
    async restart() {
      if (obs && obs.exitCode === null && obs.signalCode === null) await studio.kill();
      await launchObs();
    },
    async close() {
      if (closed) return;
      closed = true;
      process.off('exit', killOnExit);
      await stopChild(obs, 5000);
      await stopChild(xvfb, 2000);
      await rm(home, { recursive: true, force: true });
    },
  };
  t?.after(() => studio.close());
  try {
    await launchObs();
  } catch (error) {
    await studio.close();
    throw error;
  }
  return studio;
}
