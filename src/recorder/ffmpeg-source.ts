import { AppError } from '../errors/index.js';

/** A parsed FFMPEG_SOURCE: what the ffmpeg recorder captures. */
export type FfmpegSource =
  | { type: 'testsrc' }
  | { type: 'screen'; display: string | null }
  | { type: 'v4l2'; device: string }
  | { type: 'url'; input: string };

/**
 * Parses `testsrc`, `screen` (or `screen:<display>`), `v4l2:<device>` and `url:<input>`.
 * Throws BAD_REQUEST naming the accepted forms.
 */
export function parseFfmpegSource(text: string): FfmpegSource {
  const value = text.trim();
  if (value === 'testsrc') return { type: 'testsrc' };
  if (value === 'screen') return { type: 'screen', display: null };
  const colon = value.indexOf(':');
  const kind = colon === -1 ? value : value.slice(0, colon);
  const rest = colon === -1 ? '' : value.slice(colon + 1).trim();
  if (kind === 'screen' && rest !== '') return { type: 'screen', display: rest };
  if (kind === 'v4l2' && rest !== '') return { type: 'v4l2', device: rest };
  if (kind === 'url' && rest !== '') return { type: 'url', input: rest };
  throw new AppError(
    'BAD_REQUEST',
    `unknown ffmpeg source "${text}": expects testsrc, screen, screen:<display>, v4l2:<device> or url:<input>`,
  );
}

/** True for inputs read from disk, which ffmpeg must pace (-re) to behave like a live source. */
function isLocalFile(input: string): boolean {
  return !/^[a-z][a-z0-9+.-]*:\/\//i.test(input) || input.startsWith('file:');
}

/** The ffmpeg arguments that read the source and encode it for a Matroska file. */
export function ffmpegInputArgs(source: FfmpegSource, screenSize?: string): string[] {
  const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p'];
  switch (source.type) {
    case 'testsrc':
      // A test pattern with a tone; -re paces the generators at real time like a camera.
      return [
        '-re',
        '-f',
        'lavfi',
        '-i',
        'testsrc=size=1280x720:rate=30',
        '-re',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=48000',
        ...h264,
        '-g',
        '60',
        '-c:a',
        'aac',
        '-b:a',
        '128k',
      ];
    case 'screen':
      // An empty display name before "+x,y" makes x11grab use $DISPLAY. This ffmpeg's x11grab
      // grabs 640x480 unless told the screen's size.
      return [
        '-f',
        'x11grab',
        '-framerate',
        '30',
        ...(screenSize ? ['-video_size', screenSize] : []),
        '-i',
        source.display ?? '+0,0',
        ...h264,
        '-g',
        '60',
      ];
    case 'v4l2':
      return ['-f', 'v4l2', '-i', source.device, ...h264, '-g', '60', '-c:a', 'aac'];
    case 'url':
      // A live stream is recorded as it comes (no re-encoding); Matroska holds any codec.
      return [...(isLocalFile(source.input) ? ['-re'] : []), '-i', source.input, '-map', '0', '-c', 'copy'];
  }
}
