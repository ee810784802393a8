import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Named events the page listens to on GET /api/events. */
export type StationEventName = 'status' | 'upload' | 'recordings' | 'processing';

/**
 * Server-Sent Events fan-out: every connected page gets every event. A slow client is
 * dropped rather than buffered without bound, and a comment line every 15 s keeps proxies
 * from closing idle streams.
 */
export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat: NodeJS.Timeout;
  private nextId = 1;

  constructor(private readonly maxBufferedBytes = 1024 * 1024) {
    this.heartbeat = setInterval(() => this.writeAll(': keep-alive\n\n'), 15_000);
    this.heartbeat.unref();
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Takes over the reply and keeps it open until the client leaves; `initial` events are sent first. */
  attach(
    request: FastifyRequest,
    reply: FastifyReply,
    initial: Array<[StationEventName, unknown]> = [],
  ): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    for (const [name, data] of initial) res.write(this.format(name, data));
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    request.raw.on('close', drop);
    res.on('close', drop);
  }

  publish(name: StationEventName, data: unknown): void {
    this.writeAll(this.format(name, data));
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private format(name: StationEventName, data: unknown): string {
    return `id: ${this.nextId++}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
  }

  private writeAll(chunk: string): void {
    for (const res of this.clients) {
      if (res.writableLength > this.maxBufferedBytes) {
        res.destroy();
        this.clients.delete(res);
        continue;
      }
      res.write(chunk);
    }
  }
}
