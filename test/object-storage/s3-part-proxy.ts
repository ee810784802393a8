import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * An HTTP proxy in front of Swift that watches S3 UploadPart requests: how often each part
 * number was sent, which ones the bucket accepted, and (once, on request) flips one byte of a
 * part's body on the way, as a damaged connection would. Headers are forwarded as they are, so
 * SigV4 signatures (which cover Host) stay valid: the client signs for the proxy's address.
 */
export interface S3PartProxy {
  endpoint: string;
  /** UploadPart requests seen, per part number (a request cut off midway counts too). */
  sent: Map<number, number>;
  /** Part numbers the bucket answered 200 to, in order. */
  accepted: number[];
  /** Flip a byte in the body of the next request for this part number. */
  corruptNext(partNumber: number): void;
  /** Called whenever the bucket accepted a part. */
  onAccepted: ((partNumber: number) => void) | undefined;
  close(): Promise<void>;
}

function partNumberOf(req: IncomingMessage): number | undefined {
  if (req.method !== 'PUT') return undefined;
  const query = new URL(req.url ?? '/', 'http://proxy').searchParams;
  const n = query.get('partNumber');
  return n !== null && query.has('uploadId') ? Number(n) : undefined;
}

export async function startS3PartProxy(target: string): Promise<S3PartProxy> {
  const targetUrl = new URL(target);
  const corrupt = new Set<number>();
  const proxy: S3PartProxy = {
    endpoint: '',
    sent: new Map(),
    accepted: [],
    corruptNext: (n) => corrupt.add(n),
    onAccepted: undefined,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const part = partNumberOf(req);
    if (part !== undefined) proxy.sent.set(part, (proxy.sent.get(part) ?? 0) + 1);
    const damage = part !== undefined && corrupt.delete(part);
    const upstream = request(
      {
        host: targetUrl.hostname,
        port: targetUrl.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => {
          if (part !== undefined && answer.statusCode === 200) {
            proxy.accepted.push(part);
            proxy.onAccepted?.(part);
          }
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.on('error', () => upstream.destroy());
    let flipped = !damage;
    const flip = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        if (!flipped && chunk.length > 0) {
          flipped = true;
          const copy = Buffer.from(chunk);
          copy[copy.length >> 1] = (copy[copy.length >> 1] as number) ^ 0xff;
          done(null, copy);
        } else done(null, chunk);
      },
    });
    pipeline(req, flip, upstream).catch(() => upstream.destroy());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = proxy.close;
  proxy.close = () => {
    server.closeAllConnections();
    return close();
  };
  return proxy;
}
