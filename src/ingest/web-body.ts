import { Readable, finished } from 'node:stream';

/** How much of a request body may wait in memory between the socket and the file store. */
const BODY_BUFFER_BYTES = 1024 * 1024;

/**
 * A request body as a web ReadableStream, for @tus/server's web-standard handlers. Node 20's
 * `Readable.toWeb` copies every chunk and lets only one chunk wait, which halves upload
 * throughput; this one hands the socket's buffers over as they are and keeps up to 1 MiB
 * queued (pausing the socket beyond that), so memory stays bounded whatever the upload size.
 */
export function webBodyOf(source: Readable): ReadableStream<Uint8Array> {
  let onData: ((chunk: Buffer) => void) | undefined;
  let cleanup: (() => void) | undefined;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        let done = false;
        onData = (chunk: Buffer) => {
          if (done) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) source.pause();
        };
        source.on('data', onData);
        cleanup = finished(source, (error) => {
          if (done) return;
          done = true;
          if (error) controller.error(error);
          else controller.close();
        });
      },
      pull() {
        source.resume();
      },
      cancel() {
        // The handler gave up on the body; the reply closes the connection instead of reading on.
        if (onData) source.off('data', onData);
        cleanup?.();
        source.pause();
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: BODY_BUFFER_BYTES }),
  );
}
