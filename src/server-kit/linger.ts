import type { Socket } from 'node:net';

/** How long a refused request's remaining body is still read (and thrown away) after the answer. */
const LINGER_MS = 2000;

/**
 * Lets an answer to a request whose body was not read reach the client. Node closes such a
 * connection as soon as the answer is written; the client, still sending, then gets a reset
 * (EPIPE/ECONNRESET) that may swallow the answer — a 507 or 413 seen as a network error is
 * retried at once instead of backed off. Like nginx's lingering close, the socket's write side
 * is ended (the answer and FIN go out) while incoming bytes are read and dropped until the
 * client closes or LINGER_MS pass.
 */
export function lingerOnClose(socket: Socket | null | undefined): void {
  if (!socket || socket.destroyed) return;
  socket.destroySoon = function lingeringDestroySoon(this: Socket): void {
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), LINGER_MS);
    timer.unref();
    this.on('end', () => this.destroy());
    this.on('close', () => clearTimeout(timer));
    this.resume();
  };
}
