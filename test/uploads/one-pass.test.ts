import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import Fastify from 'fastify';
import { UploadTaskRepository } from '../../src/store/index.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { keepGrowing, makeBigClip, openService, sha256Of, testSettings } from './upload-fixtures.js';

const MiB = 1024 * 1024;

/**
 * A tiny tus 1.0 server implementing the one-pass contract of CONTRACTS.md (the ingest
 * server's side lands on another branch): it keeps the declared `Upload-Sha256` of any PATCH,
 * compares it with its own digest when the last byte arrives (422 on mismatch, the upload
 * discarded) and answers its digest on the completing PATCH. It records each PATCH's offset
 * and declared digest; `cutAfter` drops the connection once that many bytes are stored.
 */
async function contractTusServer(t: TestContext, options: { cutAfter?: number } = {}) {
  const uploads = new Map<string, { length: number; parts: Buffer[]; offset: number; declared?: string }>();
  const patches: Array<{ offset: number; declared: string | undefined }> = [];
  let cut = options.cutAfter;
  const app = Fastify({ bodyLimit: 1024 * MiB });
  app.addContentTypeParser('application/offset+octet-stream', (_request, payload, done) =>
    done(null, payload),
  );
  app.get('/health', async () => ({ status: 'healthy', capabilities: { tus: { endpoint: '/files/' } } }));
  app.post('/files/', async (request, reply) => {
    const id = String(uploads.size + 1);
    uploads.set(id, { length: Number(request.headers['upload-length']), parts: [], offset: 0 });
    return reply.code(201).header('location', `/files/${id}`).header('tus-resumable', '1.0.0').send();
  });
  app.head('/files/:id', async (request, reply) => {
    const upload = uploads.get((request.params as { id: string }).id);
    if (!upload) return reply.code(404).send();
    return reply
      .header('upload-offset', String(upload.offset))
      .header('upload-length', String(upload.length))
      .header('tus-resumable', '1.0.0')
      .code(200)
      .send();
  });
  app.patch('/files/:id', async (request, reply) => {
    const id = (request.params as { id: string }).id;
    const upload = uploads.get(id);
    if (!upload) return reply.code(404).send();
    const declared = request.headers['upload-sha256'] as string | undefined;
    patches.push({ offset: Number(request.headers['upload-offset']), declared });
    if (declared) upload.declared = declared; // kept before the bytes are written
    for await (const chunk of request.body as AsyncIterable<Buffer>) {
      upload.parts.push(chunk);
      upload.offset += chunk.length;
      if (cut !== undefined && upload.offset >= cut) {
        cut = undefined;
        request.raw.socket.destroy();
        return reply;
      }
    }
    reply.header('upload-offset', String(upload.offset)).header('tus-resumable', '1.0.0');
    if (upload.offset === upload.length) {
      const digest = createHash('sha256').update(Buffer.concat(upload.parts)).digest('hex');
      if (upload.declared !== digest) {
        uploads.delete(id);
        return reply.code(422).send({ success: false, error: { code: 'CHECKSUM_MISMATCH', message: 'no' } });
      }
      reply.header('upload-sha256', digest);
    }
    return reply.code(204).send();
  });
  app.get('/status/:id', async (_request, reply) => reply.code(404).send());
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  return { url, patches };
}

test('tus: the completing PATCH declares the whole-file sha256, computed while sending (contract server)', async (t) => {
  const dir = await tempDir(t);
  const file = await makeBigClip(path.join(dir, 'big.mkv'), 9 * MiB);
  const server = await contractTusServer(t);
  const { service } = openService(t, dir, testSettings(dir, server.url, { chunkSizeBytes: 4 * MiB }));

  const task = await service.waitFor((await service.enqueue(file)).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.equal(task.sha256, await sha256Of(file));
  assert.equal(task.verifiedBy, 'sha256');
  assert.deepEqual(server.patches, [
    { offset: 0, declared: undefined },
    { offset: 4 * MiB, declared: undefined },
    { offset: 8 * MiB, declared: task.sha256 },
  ]);
});

test('tus: the completing PATCH carries only the last MiB, so only that much is read twice (hashed ahead of its headers)', async (t) => {
  const dir = await tempDir(t);
  // 10 MiB in 4 MiB PATCHes: the chunk that would reach the end (8–10 MiB) stops 1 MiB short.
  const file = await makeBigClip(path.join(dir, 'big.mkv'), 10 * MiB);
  const server = await contractTusServer(t);
  const { service } = openService(t, dir, testSettings(dir, server.url, { chunkSizeBytes: 4 * MiB }));

  const task = await service.waitFor((await service.enqueue(file)).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.equal(task.sha256, await sha256Of(file));
  assert.deepEqual(server.patches, [
    { offset: 0, declared: undefined },
    { offset: 4 * MiB, declared: undefined },
    { offset: 8 * MiB, declared: undefined },
    { offset: 9 * MiB, declared: task.sha256 },
  ]);
});

test('tus: after a resume from a cut mid-chunk, the prefix digest is rebuilt and the declared sha256 still matches', async (t) => {
  const dir = await tempDir(t);
  const file = await makeBigClip(path.join(dir, 'big.mkv'), 9 * MiB);
  const server = await contractTusServer(t, { cutAfter: 5 * MiB + 12345 });
  const { service } = openService(t, dir, testSettings(dir, server.url, { chunkSizeBytes: 4 * MiB }));

  const task = await service.waitFor((await service.enqueue(file)).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.equal(task.sha256, await sha256Of(file));
  const last = server.patches.at(-1);
  assert.equal(last?.declared, task.sha256, 'declared on the completing PATCH');
  assert.ok(
    server.patches.some((p) => p.offset > 4 * MiB && p.offset < 8 * MiB),
    'resumed from where the server stood, not from a chunk boundary',
  );
});

test('tus to the real ingest server, resumed after a restart: completes with the digest checked', async (t) => {
  const dir = await tempDir(t);
  const file = await makeBigClip(path.join(dir, 'big.mkv'), 12 * MiB);
  const ingest = await startIngestServer(t);
  const proxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 6 * MiB });
  const settings = testSettings(dir, proxy.url, { chunkSizeBytes: 2 * MiB });
  const first = openService(t, dir, settings);
  const queued = await first.service.enqueue(file);
  const deadline = Date.now() + 60_000;
  while ((first.service.get(queued.id)?.bytesSent ?? 0) < 4 * MiB) {
    assert.ok(Date.now() < deadline);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await first.service.close();
  first.db.close();
  proxy.set({});

  const second = openService(t, dir, settings);
  const task = await second.service.waitFor(queued.id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.equal(task.verifiedBy, 'sha256');
  assert.equal(await sha256Of(path.join(ingest.dataDir, task.id, 'big.mkv')), await sha256Of(file));
});

test('a file enqueued as known complete skips the growth check; others wait for it', async (t) => {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const closed = await makeClip(path.join(dir, 'closed.mkv'), { format: 'matroska' });
  const given = await makeClip(path.join(dir, 'given.mkv'), { format: 'matroska' });
  // A growth check longer than the first upload takes: only a skipped one lets it finish first.
  const { db, service } = openService(t, dir, testSettings(dir, ingest.url, { growthCheckMs: 5_000 }));

  const done = await service.waitFor((await service.enqueue(closed, { knownComplete: true })).id);
  const waiting = await service.enqueue(given);

  assert.equal(done.state, 'completed', JSON.stringify(done.lastError));
  assert.equal(new UploadTaskRepository(db).get(done.id)?.knownComplete, true);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const held = service.get(waiting.id);
  assert.notEqual(held?.state, 'completed', 'held back by its growth check');
  const remote = await fetch(`${ingest.url}/status/${waiting.id}`);
  const remoteState = remote.status === 404 ? 'unknown' : ((await remote.json()) as { state: string }).state;
  assert.ok(['unknown', 'receiving'].includes(remoteState), `not complete on the server (${remoteState})`);
});

test('multipart: a file still growing is never completed on the server; once it stops, it is uploaded whole', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'growing.mkv'), { format: 'matroska' });
  const ingest = await startIngestServer(t);
  const settings = testSettings(dir, ingest.url, { protocol: 'multipart', growthCheckMs: 200, retries: 30 });
  const { service } = openService(t, dir, settings);
  keepGrowing(t, file);

  const task = await service.waitFor((await service.enqueue(file)).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.ok(service.history(task.id).some((e) => /FILE_STILL_GROWING/.test(e.message ?? '')));
  assert.equal(await sha256Of(path.join(ingest.dataDir, task.id, 'growing.mkv')), await sha256Of(file));
});
