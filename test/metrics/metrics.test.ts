import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { processorFromConfig } from '../../src/processing/index.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { call, eventually, startStation } from '../helpers/station.js';
import { freePort } from '../helpers/station-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { postUpload } from '../ingest/ingest-support.js';

/** One sample's value from Prometheus text, e.g. value(text, 'streamai_uploads{state="completed"}'). */
function value(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    if (line.slice(0, at) === series) return Number(line.slice(at + 1));
  }
  return undefined;
}

async function scrape(url: string, token: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** Scrapes until `series` has `wanted`, then returns that scrape. */
async function scrapeUntil(url: string, token: string, series: string, wanted: number): Promise<string> {
  return eventually(
    async () => {
      const text = await scrape(url, token);
      return value(text, series) === wanted ? text : undefined;
    },
    120_000,
    `${series} = ${wanted}`,
  );
}

async function recordOnce(url: string, token: string): Promise<void> {
  const headers = { authorization: `Bearer ${token}` };
  const started = await call(`${url}/api/recording/start`, {
    method: 'POST',
    headers,
    json: { sessionName: 'Measured' },
  });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal((await call(`${url}/api/recording/stop`, { method: 'POST', headers })).status, 200);
}

test('the station serves Prometheus metrics behind its token: uploads, bytes, durations, recorder, disk', async (t) => {
  const token = 'metrics-token';
  const { url } = await startStation(t, { STREAMAI_API_TOKEN: token, RECORDING_MIN_FREE_BYTES: '1MiB' });
  assert.equal((await fetch(`${url}/metrics`)).status, 401);
  assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  const before = await scrape(url, token);
  assert.equal(value(before, 'streamai_uploads{state="completed"}'), 0);
  assert.equal(value(before, 'streamai_recorder_state{state="idle"}'), 1);
  assert.equal(value(before, 'streamai_recorder_connected'), 1);
  assert.ok((value(before, 'streamai_disk_free_bytes{folder="recordings"}') ?? 0) > 0);
  assert.equal(value(before, 'streamai_webhook_deliveries{state="pending"}'), 0);

  await recordOnce(url, token);
  const after = await scrapeUntil(url, token, 'streamai_uploads{state="completed"}', 1);
  const uploads = await call(`${url}/api/vultr/uploads?limit=1`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const size = (uploads.body.uploads as Array<{ size: number }>)[0]!.size;
  assert.ok(
    (value(after, 'streamai_upload_bytes_sent_total') ?? 0) >= size,
    'every byte of the recording counted',
  );
  assert.equal(value(after, 'streamai_upload_duration_seconds_count{protocol="tus"}'), 1);
  assert.equal(value(after, 'streamai_upload_queue_depth'), 0);
});

test('failed attempts are counted by error code', async (t) => {
  const token = 'metrics-token';
  const { url } = await startStation(t, {
    STREAMAI_API_TOKEN: token,
    RECORDING_MIN_FREE_BYTES: '1MiB',
    VULTR_API_URL: `http://127.0.0.1:${await freePort()}`,
    VULTR_UPLOAD_RETRIES: '1',
  });
  await recordOnce(url, token);
  const text = await scrapeUntil(url, token, 'streamai_uploads{state="failed"}', 1);
  assert.equal(value(text, 'streamai_upload_retries_total{code="SERVER_UNREACHABLE"}'), 1);
  assert.equal(value(text, 'streamai_upload_failures_total{code="SERVER_UNREACHABLE"}'), 1);
});

test('the ingest server serves metrics behind its key: bytes received, uploads, processing steps', async (t) => {
  const key = 'ingest-metrics-key';
  const dir = await tempDir(t);
  const clip = await makeClip(path.join(dir, 'clip.mkv'), { format: 'matroska', seconds: 1 });
  const { url } = await startIngestServer(t, {
    apiKeys: [key],
    createProcessor: processorFromConfig(loadConfig({ env: {}, envFile: false })),
  });
  assert.equal((await fetch(`${url}/metrics`)).status, 401);
  const answer = await postUpload(
    url,
    { task_id: 'measured', auto_process: 'true' },
    { name: 'clip.mkv', path: clip },
    { authorization: `Bearer ${key}` },
  );
  assert.equal(answer.status, 200);
  const text = await scrapeUntil(url, key, 'streamai_processing_jobs{state="done"}', 1);
  assert.ok((value(text, 'streamai_ingest_bytes_received_total') ?? 0) >= Number(answer.json.file_size));
  assert.equal(value(text, 'streamai_ingest_uploads{state="received"}'), 1);
  assert.equal(value(text, 'streamai_processing_step_duration_seconds_count{step="probe",state="done"}'), 1);
  assert.equal(value(text, 'streamai_processing_duration_seconds_count{outcome="done"}'), 1);
});
