import { createHash } from 'node:crypto';
import type { TestContext } from 'node:test';
import Fastify from 'fastify';
import multipart from '@fastify/multipart';

/** What an older, multipart-only server received in one POST. */
export interface LegacyUpload {
  headers: Record<string, string | string[] | undefined>;
  fields: Record<string, string>;
  /** Part names in the order they arrived. */
  order: string[];
  file: { fieldname: string; filename: string; mimetype: string; size: number; sha256: string };
}

/**
 * A stand-in for the servers users already run (the original Flask app): no /health, no tus,
 * `POST /upload` multipart only, answering 200 `{task_id, status: "uploaded", filename, size,
 * message}` with no digest, and a `GET /status/<task_id>` that has no digest either.
 * `requests` lists every request's method and path, in order.
 */
export async function startLegacyServer(
  t: TestContext,
): Promise<{ url: string; uploads: LegacyUpload[]; requests: string[] }> {
  const uploads: LegacyUpload[] = [];
  const requests: string[] = [];
  const app = Fastify();
  app.addHook('onRequest', async (request) => {
    requests.push(`${request.method} ${request.url}`);
  });
  app.get('/status/:taskId', async (request, reply) => {
    const { taskId } = request.params as { taskId: string };
    const upload = uploads.find((u) => u.fields.task_id === taskId);
    if (!upload) return reply.code(404).send({ error: 'Task not found' });
    return { task_id: taskId, status: 'uploaded', filename: upload.file.filename, progress: 100 };
  });
  await app.register(multipart, { limits: { fileSize: 10 * 1024 ** 3 } });
  app.post('/upload', async (request) => {
    const fields: Record<string, string> = {};
    const order: string[] = [];
    let file: LegacyUpload['file'] | undefined;
    for await (const part of request.parts()) {
      order.push(part.fieldname);
      if (part.type === 'field') {
        fields[part.fieldname] = String(part.value);
        continue;
      }
      const hash = createHash('sha256');
      let size = 0;
      for await (const chunk of part.file) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
      }
      file = {
        fieldname: part.fieldname,
        filename: part.filename,
        mimetype: part.mimetype,
        size,
        sha256: hash.digest('hex'),
      };
    }
    if (!file) return { success: false, error: 'no file' };
    uploads.push({ headers: request.headers, fields, order, file });
    return {
      task_id: fields.task_id,
      status: 'uploaded',
      filename: file.filename,
      size: file.size,
      message: 'File uploaded successfully',
    };
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  return { url, uploads, requests };
}
