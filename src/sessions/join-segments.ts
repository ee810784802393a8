import { execFile } from 'node:child_process';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { AppError } from '../errors/index.js';
import { ffmpegPath } from '../media/index.js';
import { probeRecording, type RecordingProbe } from './probe-recording.js';

const run = promisify(execFile);

/** What a join produced: the parts used and the durations that were compared. */
export interface JoinResult {
  parts: string[];
  partsDuration: number;
  joinedDuration: number;
}

/**
 * Joins a segmented recording's parts, in order, into `target` without re-encoding (ffmpeg's
 * concat demuxer, stream copy), through a temporary file renamed into place, and checks that
 * the joined file lasts as long as its parts together — within one frame, plus 10 ms a part
 * for audio packets at the boundaries. A last part a crash left unreadable is left out (it
 * holds at most the final seconds, which were never closed); any other unreadable part is
 * CORRUPT_MEDIA. A last MPEG-TS part a crash cut short is still readable up to the cut and is
 * joined with the rest (its final packet may be incomplete). Parts are `.ts` (the ffmpeg
 * recorder encoding) or `.mkv` (stream copy, OBS). The parts themselves are not touched.
 */
export async function joinSegments(parts: readonly string[], target: string): Promise<JoinResult> {
  if (parts.length === 0) throw new AppError('FILE_NOT_FOUND', `no recorded parts for ${target}`);
  const probes: RecordingProbe[] = [];
  const usable: string[] = [];
  for (const [i, part] of parts.entries()) {
    try {
      probes.push(await probeRecording(part));
      usable.push(part);
    } catch (error) {
      if (i === parts.length - 1 && usable.length > 0) break;
      throw new AppError('CORRUPT_MEDIA', `recorded part ${path.basename(part)} is unreadable`, {
        cause: error,
      });
    }
  }
  const dir = path.dirname(target);
  const list = path.join(dir, `.${path.basename(target)}.concat.txt`);
  const temp = path.join(dir, `.${path.basename(target)}.joining.mkv`);
  // The concat demuxer's list syntax: one `file '<path>'` line each, quotes escaped.
  await writeFile(list, usable.map((p) => `file '${p.replace(/'/g, "'\\''")}'\n`).join(''), 'utf8');
  try {
    await run(
      ffmpegPath,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-f',
        'concat',
        '-safe',
        '0',
        // No bitstream filter: every packet is copied as it is (the parts share one encoder's
        // parameter sets; auto_convert would prepend them to each keyframe). MPEG-TS parts need
        // none either: their H.264 is Annex B already (auto_convert only converts MP4-style
        // H.264), and the Matroska muxer strips AAC's ADTS headers itself (aac_adtstoasc, which
        // it inserts whatever the demuxer does). Each TS part starts at the muxer's 1.4 s delay;
        // the concat demuxer subtracts every part's start time, so the streams stay in step.
        '-auto_convert',
        '0',
        '-i',
        list,
        '-map',
        '0',
        '-c',
        'copy',
        '-f',
        'matroska',
        temp,
      ],
      { maxBuffer: 1024 * 1024, timeout: 30 * 60_000 },
    );
    const joined = await probeRecording(temp);
    const partsDuration = probes.reduce((sum, p) => sum + p.duration, 0);
    const fps = probes[0]?.technical.video?.fps ?? null;
    const tolerance = (fps ? 1 / fps : 0.05) + 0.01 * usable.length;
    if (Math.abs(joined.duration - partsDuration) > tolerance) {
      throw new AppError(
        'CORRUPT_MEDIA',
        `joined recording lasts ${joined.duration} s, its parts ${partsDuration.toFixed(3)} s`,
      );
    }
    await rename(temp, target);
    return { parts: usable, partsDuration, joinedDuration: joined.duration };
  } catch (error) {
    await rm(temp, { force: true });
    if (error instanceof AppError) throw error;
    throw new AppError('FFMPEG_FAILED', `could not join the recorded parts of ${target}`, { cause: error });
  } finally {
    await rm(list, { force: true });
  }
}
