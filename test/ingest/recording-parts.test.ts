import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { request } from 'undici';
import type { UploadProcessor } from '../../src/ingest/index.js';
import { ffprobePath } from '../../src/media/index.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { eventually } from '../helpers/station.js';
import { tempDir } from '../helpers/temp-dir.js';
import { tusMetadata } from '../../src/uploads/tus-transport.js';
import { postUpload, sha256Of, tusCreate, tusPatch, tusRequest, visibleUploads } from './ingest-support.js';
import { recordSegments } from './segment-fixtures.js';

const run = promisify(execFile);

async function durationOf(file: string): Promise<number> {
  const { stdout } = await run(ffprobePath, [
    '-v',
    'error',
    '-show_entries',
    'format=duration',
    '-of',
    'csv=p=0',
    file,
  ]);
  return Number(stdout.trim());
}

interface StatusView {
  state: string;
  upload: { file_name: string; sha256: string | null };
  parts?: Array<{ index: number; file_name: string; size: number; sha256: string; state: string }>;
  parts_expected?: number | null;
  parts_received?: number;
}

async function statusOf(url: string, taskId: string): Promise<StatusView> {
  const res = await request(`${url}/status/${taskId}`);
  return (await res.body.json()) as StatusView;
}

test('a segmented recording: parts stored once each, joined losslessly when all are there, status shows the parts', async (t) => {
  const dir = await tempDir(t);
  const files = await recordSegments(dir);
  assert.equal(files.length, 3);
  const [p0, p1, p2] = await Promise.all(files.map((f) => readFile(f)));
  const jobs: string[] = [];
  const processor: UploadProcessor = {
    enqueue: async (job) => void jobs.push(job.taskId),
    status: async () => undefined,
    start: async () => undefined,
    close: async () => undefined,
  };
  const { url, dataDir } = await startIngestServer(t, { createProcessor: () => processor });
  const T = 'rec-task-1';
  const common = { task_id: T, recording_id: 'rec-42', session_name: 'Talk', auto_process: 'true' };

  // Part 1 first (multipart), then part 0 (tus): order of arrival does not matter.
  const first = await postUpload(
    url,
    { ...common, segment_index: '1', sha256: sha256Of(p1!) },
    { name: 'talk_001.mkv', data: p1! },
  );
  assert.equal(first.status, 200);
  assert.equal(first.json.task_id, T);
  const created = await tusCreate(url, p0!.length, {
    ...common,
    filename: 'talk_000.mkv',
    segment_index: '0',
  });
  assert.equal(created.status, 201);
  const put = await tusPatch(created.location ?? '', 0, p0!, { 'upload-sha256': sha256Of(p0!) });
  assert.equal(put.status, 204);

  let view = await statusOf(url, T);
  assert.equal(view.state, 'receiving');
  assert.equal(view.parts_expected, null);
  assert.equal(view.parts_received, 2);
  assert.deepEqual(await visibleUploads(dataDir), [], 'no part is visible as an upload');

  // The same part again is stored once; other bytes under the same index are refused.
  const again = await postUpload(url, { ...common, segment_index: '1' }, { name: 'talk_001.mkv', data: p1! });
  assert.equal(again.status, 200);
  const other = await postUpload(url, { ...common, segment_index: '1' }, { name: 'talk_001.mkv', data: p2! });
  assert.equal(other.status, 409);

  // The last part tells the count: the recording is joined and received.
  const last = await postUpload(
    url,
    { ...common, segment_index: '2', segment_count: '3' },
    { name: 'talk_002.mkv', data: p2! },
  );
  assert.equal(last.status, 200);
  view = await eventually(
    async () => {
      const v = await statusOf(url, T);
      return v.state === 'received' ? v : undefined;
    },
    30_000,
    'the recording to be joined',
  );
  assert.equal(view.parts_expected, 3);
  assert.equal(view.parts_received, 3);
  assert.deepEqual(
    view.parts?.map((p) => [p.index, p.file_name, p.sha256, p.state]),
    [
      [0, 'talk_000.mkv', sha256Of(p0!), 'received'],
      [1, 'talk_001.mkv', sha256Of(p1!), 'received'],
      [2, 'talk_002.mkv', sha256Of(p2!), 'received'],
    ],
  );
  assert.equal(view.upload.file_name, 'talk.mkv');
  assert.deepEqual(await visibleUploads(dataDir), [path.join(T, 'talk.mkv')]);
  const joined = path.join(dataDir, T, 'talk.mkv');
  assert.equal(sha256Of(await readFile(joined)), view.upload.sha256);
  const sum = (await Promise.all(files.map(durationOf))).reduce((a, b) => a + b, 0);
  assert.ok(
    Math.abs((await durationOf(joined)) - sum) <= 0.041,
    `joined ${await durationOf(joined)} vs ${sum}`,
  );

  // Processed once, as one recording: never a part on its own.
  assert.deepEqual(jobs, [T]);
  // One entry in the list: the recording, not its parts.
  const list = (await (await request(`${url}/uploads`)).body.json()) as Array<{ task_id: string }>;
  assert.deepEqual(
    list.map((i) => i.task_id),
    [T],
  );
  // A part re-sent after the join is still recognised, and nothing changes.
  const late = await postUpload(url, { ...common, segment_index: '0' }, { name: 'talk_000.mkv', data: p0! });
  assert.equal(late.status, 200);
  assert.deepEqual(await visibleUploads(dataDir), [path.join(T, 'talk.mkv')]);
  assert.deepEqual(jobs, [T]);
});

test('a segmented recording survives a server restart between parts: the parts already sent stay, the rest completes it', async (t) => {
  const dir = await tempDir(t);
  const files = await recordSegments(dir);
  const parts = await Promise.all(files.map((f) => readFile(f)));
  const dataDir = path.join(dir, 'data');
  const T = 'rec-task-2';
  const fields = (i: number): Record<string, string> => ({
    task_id: T,
    recording_id: 'rec-43',
    segment_index: String(i),
    ...(i === parts.length - 1 ? { segment_count: String(parts.length) } : {}),
  });
  const first = await startIngestServer(t, { dataDir });
  for (const i of [0, 1]) {
    const sent = await postUpload(first.url, fields(i), { name: `talk_00${i}.mkv`, data: parts[i]! });
    assert.equal(sent.status, 200);
  }
  await first.server.close();

  const second = await startIngestServer(t, { dataDir });
  assert.equal((await statusOf(second.url, T)).parts_received, 2);
  const last = await postUpload(second.url, fields(2), { name: 'talk_002.mkv', data: parts[2]! });
  assert.equal(last.status, 200);
  const view = await eventually(
    async () => {
      const v = await statusOf(second.url, T);
      return v.state === 'received' ? v : undefined;
    },
    30_000,
    'the recording to be joined after the restart',
  );
  assert.equal(view.parts_received, 3);
  assert.deepEqual(await visibleUploads(dataDir), [path.join(T, 'talk.mkv')]);
});

test('tus: a part created with a deferred length learns the part count from Upload-Segment-Count on its completing PATCH; a bad count or a non-part is refused with BAD_REQUEST', async (t) => {
  const { url } = await startIngestServer(t);
  const data = Buffer.from('not media, but named like a part');
  const create = async (metadata: Record<string, string>): Promise<string> => {
    const res = await tusRequest(`${url}/files/`, 'POST', {
      'upload-defer-length': '1',
      'upload-metadata': tusMetadata(metadata),
    });
    assert.equal(res.status, 201, res.text);
    return new URL(String(res.headers.location), url).toString();
  };
  const patch = (location: string, headers: Record<string, string>) =>
    tusRequest(
      location,
      'PATCH',
      { 'upload-offset': '0', 'content-type': 'application/offset+octet-stream', ...headers },
      data,
    );
  const part = await create({ filename: 'part00001.ts', task_id: 'rec-count', segment_index: '1' });
  for (const bad of ['0', 'two', '1']) {
    const res = await patch(part, { 'upload-length': String(data.length), 'upload-segment-count': bad });
    assert.equal(res.status, 400, `count ${bad}: ${res.text}`);
    assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'BAD_REQUEST');
  }
  const plain = await create({ filename: 'talk.ts', task_id: 'plain-count' });
  const refused = await patch(plain, { 'upload-length': String(data.length), 'upload-segment-count': '2' });
  assert.equal(refused.status, 400, refused.text);
  // Nothing was written by the refused PATCHes; the right count is recorded on the recording.
  const ok = await patch(part, { 'upload-length': String(data.length), 'upload-segment-count': '2' });
  assert.equal(ok.status, 204, ok.text);
  const view = (await statusOf(url, 'rec-count')) as unknown as { parts_expected: number };
  assert.equal(view.parts_expected, 2);
});
