import { spawn } from 'node:child_process';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors/index.js';
import { ffmpegPath } from '../media/index.js';

const VIDEO_CODEC = { h264: 'libx264', h265: 'libx265' } as const;

/**
 * Transcodes `source` with the packaged ffmpeg into `<tempDir>/<taskId>.mp4` (the original is
 * kept untouched) and returns the copy's path, size and size ratio. The copy is rebuilt from
 * scratch each time: a half-written one after a crash is never trusted.
 */
export async function compressFile(
  source: string,
  codec: 'h264' | 'h265',
  tempDir: string,
  taskId: string,
  signal: AbortSignal,
): Promise<{ path: string; size: number; ratio: number }> {
  await mkdir(tempDir, { recursive: true });
  const target = path.join(tempDir, `${taskId}.mp4`);
  const partial = `${target}.part`;
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    '-y',
    '-i',
    source,
    '-map',
    '0:v?',
    '-map',
    '0:a?',
    '-c:v',
    VIDEO_CODEC[codec],
    '-preset',
    'veryfast',
    '-crf',
    codec === 'h264' ? '23' : '28',
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    partial,
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(ffmpegPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const onAbort = (): void => {
      child.kill('SIGKILL');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', reject);
    child.on('close', (code) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) reject(signal.reason);
      else if (code === 0) resolve();
      else
        reject(
          new AppError('FFMPEG_FAILED', `compressing ${source} failed: ${stderr.trim() || `exit ${code}`}`),
        );
    });
  }).catch(async (error: unknown) => {
    await rm(partial, { force: true });
    throw error;
  });
  await rename(partial, target);
  const [compressed, original] = await Promise.all([stat(target), stat(source)]);
  return { path: target, size: compressed.size, ratio: compressed.size / original.size };
}
