import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startIngestServer } from '../helpers/ingest-server.js';
import { call, startStation } from '../helpers/station.js';

/** Sends raw bytes and returns the status and JSON body of the answer (the socket is closed after). */
async function rawRequest(baseUrl: string, raw: string): Promise<{ status: number; body: unknown }> {
  const { hostname, port } = new URL(baseUrl);
  const socket = connect({ host: hostname, port: Number(port) });
  socket.on('error', () => undefined);
  socket.write(raw);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  const body: unknown = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
  return { status, body };
}

function assertOurShape(answer: { status: number; body: unknown }, status: number, code: string): void {
  assert.equal(answer.status, status);
  const body = answer.body as { success?: boolean; error?: { code?: string; message?: string } };
  assert.equal(body.success, false);
  assert.equal(body.error?.code, code);
  assert.equal(typeof body.error?.message, 'string');
}

async function checkFrameworkErrors(url: string): Promise<void> {
  const host = new URL(url).host;
  assertOurShape(
    await rawRequest(url, `GET /status/%E0%A4%A HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    400,
    'BAD_REQUEST',
  );
  assertOurShape(
    await rawRequest(
      url,
      `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    ),
    414,
    'URI_TOO_LONG',
  );
  assertOurShape(
    await rawRequest(url, `GET /health HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`),
    431,
    'HEADERS_TOO_LARGE',
  );
  assertOurShape(await rawRequest(url, `NOT HTTP AT ALL\r\n\r\n`), 400, 'BAD_REQUEST');
}

test('the ingest server answers the framework and parser errors in our JSON shape', async (t) => {
  const { url } = await startIngestServer(t);
  await checkFrameworkErrors(url);
});

test('the station answers the framework errors in our JSON shape, and 413 for a body over the limit', async (t) => {
  const { url } = await startStation(t);
  await checkFrameworkErrors(url);
  const big = await call(`${url}/api/recording/start`, {
    method: 'POST',
    json: { sessionName: 'x'.repeat(2 * 1024 * 1024) },
  });
  assert.equal(big.status, 413);
  assert.equal((big.body.error as { code: string }).code, 'PAYLOAD_TOO_LARGE');
});
