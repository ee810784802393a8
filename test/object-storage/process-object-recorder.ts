import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/**
 * A small real HTTP server standing in for the processing server's `POST /process-object`
 * (CONTRACTS, Round 2) until the ingest server's own lands in this branch: it records every
 * request, answers process-object with the next status from `answers` (then 200 like
 * `/process/:task_id` plus task_id), and GET /status/<task_id> with `processing` once asked.
 */
export async function startProcessObjectRecorder(
  t: TestContext,
  answers: number[] = [],
): Promise<{
  url: string;
  requests: RecordedRequest[];
  answers: number[];
  processObjects: () => RecordedRequest[];
}> {
  const requests: RecordedRequest[] = [];
  const started = new Set<string>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text === '' ? null : JSON.parse(text);
      } catch {
        // kept as text
      }
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const send = (status: number, json: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      if (req.method === 'POST' && req.url === '/process-object') {
        const status = answers.shift() ?? 200;
        const taskId = (body as { task_id?: string } | null)?.task_id ?? 'task_unknown';
        if (status === 200) {
          started.add(taskId);
          send(200, { success: true, task_id: taskId, status: 'processing', message: 'processing started' });
        } else {
          const code = status === 422 ? 'CHECKSUM_MISMATCH' : 'SERVER_ERROR';
          send(status, { success: false, error: { code, message: `answered ${status} on purpose` } });
        }
        return;
      }
      const status = /^\/status\/(task_[^/?]+)$/.exec(req.url ?? '');
      if (req.method === 'GET' && status?.[1] && started.has(status[1])) {
        send(200, { task_id: status[1], state: 'processing', processing: { progress: 0.25 } });
        return;
      }
      send(404, { success: false, error: { code: 'NOT_FOUND', message: 'not here' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answers,
    processObjects: () => requests.filter((r) => r.url === '/process-object'),
  };
}
