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
 * `POST /upload` multipart only, answering `{success, task_id, file_name, file_size, message}`.
 */
export async function startLegacyServer(t: TestContext): Promise<{ url: string; uploads: LegacyUpload[] }> {
  const uploads: LegacyUpload[] = [];
  const app = Fastify();
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
      success: true,
      task_id: fields.task_id,
      file_name: file.filename,
      file_size: file.size,
      message: 'ok',
    };
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  return { url, uploads };
}
