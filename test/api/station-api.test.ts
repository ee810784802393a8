import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { call, eventually, startStation } from '../helpers/station.js';

type Json = Record<string, unknown>;

test('records, stops, lists, serves and auto-uploads a recording through the REST API', async (t) => {
  // One file after Stop (RECORDING_SEGMENT_SECONDS=0): this test checks the whole file's digest end to end;
  // recordings sent in parts are tested in test/uploads/recording-parts*.test.ts.
  const { url, server } = await startStation(t, { RECORDING_SEGMENT_SECONDS: '0' });

  const status = await call(`${url}/api/status`);
  assert.equal(status.status, 200);
  const recorder = status.body.recorder as Json;
  assert.equal(recorder.kind, 'ffmpeg');
  assert.equal(recorder.recording, false);
  assert.equal((status.body.vultr as Json).embedded, true);

  const started = await call(`${url}/api/recording/start`, {
    method: 'POST',
    json: { sessionName: 'Réunion équipe' },
  });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const again = await call(`${url}/api/recording/start`, { method: 'POST', json: { sessionName: 'Other' } });
  assert.equal(again.status, 409);
  assert.equal((again.body.error as Json).code, 'ALREADY_RECORDING');
  const during = await call(`${url}/api/status`);
  assert.equal((during.body.recorder as Json).recording, true);
  assert.deepEqual(((during.body.recorder as Json).session as Json).name, 'Réunion équipe');

  await new Promise((resolve) => setTimeout(resolve, 2500));
  const stopped = await call(`${url}/api/recording/stop`, { method: 'POST', json: {} });
  assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
  const recording = stopped.body.recording as Json;
  assert.equal(recording.sessionName, 'Réunion équipe');
  assert.ok(
    typeof recording.durationSeconds === 'number' && recording.durationSeconds > 1.5,
    `duration ${String(recording.durationSeconds)}`,
  );
  const stopAgain = await call(`${url}/api/recording/stop`, { method: 'POST', json: {} });
  assert.equal(stopAgain.status, 409);
  assert.equal((stopAgain.body.error as Json).code, 'NOT_RECORDING');

  const list = await call(`${url}/api/recordings`);
  const recordings = list.body.recordings as Json[];
  assert.equal(recordings.length, 1);
  const id = String(recordings[0]!.id);
  assert.equal(recordings[0]!.hasThumbnail, true);

  // The video supports Range requests (seeking in the browser).
  const file = server.station.recordingFile(id, 'video').path;
  const whole = await readFile(file);
  const ranged = await fetch(`${url}/api/recordings/${id}/video`, { headers: { range: 'bytes=100-199' } });
  assert.equal(ranged.status, 206);
  assert.equal(ranged.headers.get('content-range'), `bytes 100-199/${whole.length}`);
  assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), whole.subarray(100, 200));

  const thumbnail = await fetch(`${url}/api/recordings/${id}/thumbnail`);
  assert.equal(thumbnail.status, 200);
  assert.equal(thumbnail.headers.get('content-type'), 'image/jpeg');
  const jpeg = Buffer.from(await thumbnail.arrayBuffer());
  assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');

  const download = await fetch(`${url}/api/recordings/${id}/download`);
  assert.equal(download.status, 200);
  const disposition = download.headers.get('content-disposition') ?? '';
  assert.match(disposition, /^attachment; filename="[^"]*"; filename\*=UTF-8''R%C3%A9union%20%C3%A9quipe/);
  const downloaded = Buffer.from(await download.arrayBuffer());
  assert.equal(
    createHash('sha256').update(downloaded).digest('hex'),
    createHash('sha256').update(whole).digest('hex'),
  );

  // Auto-upload (VULTR_AUTO_UPLOAD defaults to true) reaches the embedded ingest server.
  const uploaded = await eventually(
    async () => {
      const uploads = (await call(`${url}/api/vultr/uploads?limit=10`)).body.uploads as Json[];
      const done = uploads.find((u) => u.recording_id === id && u.state === 'completed');
      return done;
    },
    90_000,
    'the auto-upload to complete',
  );
  assert.equal(uploaded.size, whole.length);
  assert.equal(uploaded.sha256, createHash('sha256').update(whole).digest('hex'));
  const taskStatus = await call(`${url}/api/vultr/upload/status/${String(uploaded.task_id)}`);
  assert.equal(taskStatus.status, 200);
  assert.equal(taskStatus.body.state, 'completed');
  assert.ok((taskStatus.body.history as Json[]).length >= 2, 'history of state changes');
  assert.equal(
    ((taskStatus.body.server as Json).upload as Json).sha256,
    uploaded.sha256,
    'the server holds the same bytes',
  );

  // The server processes it (auto_process): the station follows and shows state, report and thumbnail.
  const processed = await eventually(
    async () => {
      const answer = await call(`${url}/api/vultr/upload/status/${String(uploaded.task_id)}`);
      const processing = answer.body.processing as Json | null;
      return processing && ['done', 'failed'].includes(String(processing.state)) ? processing : undefined;
    },
    120_000,
    'processing to finish',
  );
  assert.equal(processed.state, 'done', JSON.stringify(processed));
  const report = processed.report as Json;
  assert.ok(
    Math.abs(Number(report.original_duration) - Number(recording.durationSeconds)) < 0.5,
    'report measured from the file',
  );
  const outputThumbnail = await fetch(
    `${url}/api/vultr/upload/${String(uploaded.task_id)}/outputs/thumbnail.jpg`,
  );
  assert.equal(outputThumbnail.status, 200);
  assert.equal(outputThumbnail.headers.get('content-type'), 'image/jpeg');
  assert.deepEqual([...Buffer.from(await outputThumbnail.arrayBuffer()).subarray(0, 2)], [0xff, 0xd8]);
  const missingOutput = await call(`${url}/api/vultr/upload/${String(uploaded.task_id)}/outputs/nothing.jpg`);
  assert.equal(missingOutput.status, 404);
  assert.equal((missingOutput.body.error as Json).code, 'OUTPUT_NOT_FOUND');

  // On-demand upload answers 202 at once with a task id.
  const manual = await call(`${url}/api/vultr/upload`, {
    method: 'POST',
    json: { recording_id: id, auto_process: false },
  });
  assert.equal(manual.status, 202);
  assert.match(String(manual.body.task_id), /^task_/);
});

test('bad input gets a clear error with a code, never a stack trace', async (t) => {
  const { url } = await startStation(t);
  const cases: Array<[string, RequestInit & { json?: unknown }, number, string, RegExp?]> = [
    [
      '/api/recording/start',
      { method: 'POST', json: { sessionName: '' } },
      400,
      'BAD_REQUEST',
      /sessionName/,
    ],
    [
      '/api/recording/start',
      { method: 'POST', json: { sessionName: 123 } },
      400,
      'BAD_REQUEST',
      /sessionName/,
    ],
    [
      '/api/recording/start',
      { method: 'POST', json: { sessionName: ['a'] } },
      400,
      'BAD_REQUEST',
      /sessionName/,
    ],
    [
      '/api/vultr/upload',
      { method: 'POST', json: { recording_id: 'x', auto_process: 'yes' } },
      400,
      'BAD_REQUEST',
      /auto_process/,
    ],
    ['/api/recording/start', { method: 'POST', json: { sessionName: '../../etc' } }, 400, 'INVALID_NAME'],
    [
      '/api/recording/start',
      { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } },
      400,
      'BAD_REQUEST',
    ],
    ['/api/recording/stop', { method: 'POST', json: {} }, 409, 'NOT_RECORDING'],
    ['/api/recordings/nope/video', {}, 404, 'RECORDING_NOT_FOUND'],
    ['/api/recordings/..%2F..%2Fetc/download', {}, 400, 'BAD_REQUEST'],
    [
      '/api/vultr/upload',
      { method: 'POST', json: { auto_process: true } },
      400,
      'BAD_REQUEST',
      /recording_id/,
    ],
    ['/api/vultr/upload', { method: 'POST', json: { recording_id: 'missing' } }, 404, 'RECORDING_NOT_FOUND'],
    ['/api/vultr/upload/status/task_unknown', {}, 404, 'TASK_NOT_FOUND'],
    ['/api/vultr/upload/status/not-a-task', {}, 400, 'BAD_REQUEST'],
    ['/api/vultr/uploads?limit=1000', {}, 400, 'BAD_REQUEST', /limit/],
    ['/api/nothing-here', {}, 404, 'NOT_FOUND'],
  ];
  for (const [path, init, status, code, message] of cases) {
    const answer = await call(`${url}${path}`, init);
    assert.equal(answer.status, status, `${path}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.success, false);
    const error = answer.body.error as Json;
    assert.equal(error.code, code, path);
    if (message) assert.match(String(error.message), message);
    assert.doesNotMatch(JSON.stringify(answer.body), /\bat .*\.(ts|js):\d+/, 'no stack trace');
  }
});

test('status, config and connection test say what the user needs and no secrets', async (t) => {
  const { url } = await startStation(t, { VULTR_API_KEY: 'super-secret-key' });
  const vultr = await call(`${url}/api/vultr/status`);
  assert.equal(vultr.status, 200);
  assert.equal(vultr.body.api_key_set, true);
  assert.doesNotMatch(JSON.stringify(vultr.body), /super-secret-key/);
  const check = await call(`${url}/api/vultr/test`);
  assert.equal(check.status, 200);
  const checks = check.body.checks as Json[];
  assert.ok(checks.length >= 2);
  assert.ok(checks.every((c) => typeof c.name === 'string' && typeof c.ok === 'boolean'));
  assert.doesNotMatch(JSON.stringify(check.body), /super-secret-key/);
  const openapi = await call(`${url}/api/openapi.json`);
  assert.equal(openapi.status, 200);
  const paths = Object.keys(openapi.body.paths as Json);
  for (const route of [
    '/api/status',
    '/api/recording/start',
    '/api/vultr/upload',
    '/api/vultr/uploads',
    '/api/events',
  ]) {
    assert.ok(paths.includes(route), `OpenAPI documents ${route}`);
  }
});

test('live events: the page hears recording state and upload progress without polling', async (t) => {
  const { url } = await startStation(t);
  const controller = new AbortController();
  t.after(() => controller.abort());
  const response = await fetch(`${url}/api/events`, { signal: controller.signal });
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = response.body!.getReader();
  const seen: Array<{ event: string; data: Json }> = [];
  let buffer = '';
  const pump = (async () => {
    const decoder = new TextDecoder();
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) seen.push({ event, data: JSON.parse(data) as Json });
      }
    }
  })();
  await eventually(
    async () => (seen.some((e) => e.event === 'status') ? true : undefined),
    5000,
    'the first status event',
  );
  await call(`${url}/api/recording/start`, { method: 'POST', json: { sessionName: 'Live' } });
  await eventually(
    async () =>
      seen.some((e) => e.event === 'status' && (e.data.recorder as Json).recording === true)
        ? true
        : undefined,
    10_000,
    'a recording status event',
  );
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await call(`${url}/api/recording/stop`, { method: 'POST', json: {} });
  await eventually(
    async () => (seen.some((e) => e.event === 'upload' && e.data.state === 'completed') ? true : undefined),
    90_000,
    'an upload completed event',
  );
  assert.ok(
    seen.some((e) => e.event === 'recordings'),
    'recordings changed event',
  );
  controller.abort();
  await pump;
});

test('the original Flask answers’ fields are kept beside ours', async (t) => {
  const { url, server } = await startStation(t, { VULTR_AUTO_UPLOAD: 'false' });
  const health = await call(`${url}/api/health`);
  assert.equal(health.status, 200);
  assert.equal(health.body.status, 'healthy');
  assert.ok(!Number.isNaN(Date.parse(String(health.body.timestamp))));

  // No sessionName: named as the original did, in local time.
  const before = new Date();
  const started = await call(`${url}/api/recording/start`, { method: 'POST', json: {} });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const name = String((started.body.recording as Json).sessionName);
  assert.match(name, /^recording_session_\d{8}_\d{6}$/);
  const day = `${before.getFullYear()}${String(before.getMonth() + 1).padStart(2, '0')}${String(before.getDate()).padStart(2, '0')}`;
  assert.ok(name.startsWith(`recording_session_${day}_`), `${name} is today, local time`);
  assert.equal(typeof started.body.message, 'string');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const stopped = await call(`${url}/api/recording/stop`, { method: 'POST' });
  assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
  assert.equal(typeof stopped.body.message, 'string');
  // A second recording in the same session.
  assert.equal(
    (await call(`${url}/api/recording/start`, { method: 'POST', json: { sessionName: name } })).status,
    200,
  );
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal((await call(`${url}/api/recording/stop`, { method: 'POST', json: {} })).status, 200);
  const sessionId = String((stopped.body.recording as Json).sessionId);

  // recording_id naming a session: every recording of it not yet uploaded.
  const upload = await call(`${url}/api/vultr/upload`, { method: 'POST', json: { recording_id: sessionId } });
  assert.equal(upload.status, 202, JSON.stringify(upload.body));
  const taskIds = upload.body.task_ids as string[];
  assert.equal(taskIds.length, 2);
  assert.equal(upload.body.task_id, taskIds[0]);
  assert.equal(typeof upload.body.file_name, 'string');
  assert.ok(Number(upload.body.file_size) > 0);
  assert.match(String(upload.body.upload_time), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  assert.equal(typeof upload.body.message, 'string');
  for (const id of taskIds)
    assert.equal(server.station.uploadService.get(id)?.autoProcess, false, 'auto_process defaults to false');

  const done = await eventually(async () => {
    const answer = await call(`${url}/api/vultr/upload/status/${taskIds[0]}`);
    return answer.body.state === 'completed' ? answer.body : undefined;
  });
  assert.deepEqual(done.status, done.server);
  assert.equal((done.status as Json).task_id, taskIds[0]);

  const test = await call(`${url}/api/vultr/test`);
  assert.equal(test.body.success, true, JSON.stringify(test.body));
  assert.equal(typeof test.body.message, 'string');
  assert.equal(typeof test.body.server_info, 'object');
  assert.notEqual(test.body.server_info, null);

  const status = await call(`${url}/api/vultr/status`);
  const config = status.body.config as Json;
  assert.equal(config.configured, true);
  assert.equal(config.api_url, server.station.vultr.url);
  assert.equal(config.upload_endpoint, '/upload');
  assert.equal(config.auto_upload, false);
  assert.equal((status.body.connection as Json).success, true);
});
