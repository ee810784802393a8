import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError, isAppError, toAppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { RecordingRecord, SessionRepository } from '../store/index.js';
import { moveFile, sha256File } from './move-file.js';
import { makeThumbnail, probeRecording } from './probe-recording.js';
import { listSegmentFiles } from '../recorder/index.js';
import { joinSegments } from './join-segments.js';
import { isFile, uniquePath } from './session-files.js';

/**
 * The file step of finalisation: moves the recorder's file into the session folder, validates
 * and measures it with ffprobe, hashes it, makes a thumbnail, and stores the recording as
 * `ready` — or as `failed` with the error's code. Never throws for a bad file. Returns the
 * parts a segmented recording was joined from (in order), for its upload in parts.
 */
export async function finalizeRecordingFile(input: {
  repo: SessionRepository;
  recording: RecordingRecord;
  folder: string;
  source: string | null;
  interrupted: boolean;
  logger: Logger;
}): Promise<{ parts?: string[] }> {
  const { repo, recording, folder, source, interrupted, logger } = input;
  let parts: string[] | undefined;
  try {
    if (!source) throw new AppError('FILE_NOT_FOUND', 'the recorder reported no file for this recording');
    await mkdir(folder, { recursive: true });
    if (!(await isFile(source))) {
      // A segmented recording: its closed parts become the one file (after Stop, or after a crash).
      const found = await listSegmentFiles(source);
      if (found.length > 0) {
        const joined = await joinSegments(found, source);
        parts = joined.parts;
        logger.info(
          { recordingId: recording.id, parts: joined.parts.length, duration: joined.joinedDuration },
          'recorded parts joined',
        );
      }
    }
    let filePath = source;
    if (path.resolve(path.dirname(source)) !== path.resolve(folder)) {
      filePath = await uniquePath(folder, path.basename(source));
      if (await isFile(source)) {
        await moveFile(source, filePath);
      } else if (recording.filePath && (await isFile(recording.filePath))) {
        filePath = recording.filePath; // moved by an earlier run that stopped before finishing
      } else {
        throw new AppError('FILE_NOT_FOUND', `the recording file is missing: ${source}`);
      }
    }
    repo.updateRecording(recording.id, { filePath, fileName: path.basename(filePath) });
    const probe = await probeRecording(filePath);
    const sha256 = await sha256File(filePath);
    const thumbnailPath = path.join(folder, `${path.basename(filePath, path.extname(filePath))}.jpg`);
    let thumbnail: string | null = null;
    if (probe.technical.video) {
      try {
        await makeThumbnail(filePath, thumbnailPath, probe.duration);
        thumbnail = thumbnailPath;
      } catch (error) {
        logger.warn({ err: error, filePath }, 'no thumbnail');
      }
    }
    repo.updateRecording(recording.id, {
      state: 'ready',
      size: probe.size,
      duration: probe.duration,
      sha256,
      thumbnailPath: thumbnail,
      technical: { ...probe.technical, ...(interrupted ? { interrupted: true } : {}) },
      error: null,
    });
    logger.info(
      { recordingId: recording.id, filePath, duration: probe.duration, size: probe.size },
      'recording ready',
    );
    return parts ? { parts } : {};
  } catch (error) {
    const appError = isAppError(error) ? error : toAppError(error, 'finalising the recording failed');
    logger.error({ err: error, recordingId: recording.id }, 'recording could not be finalised');
    repo.updateRecording(recording.id, {
      state: 'failed',
      error: { code: appError.code, message: appError.message },
    });
    return parts ? { parts } : {};
  }
}
