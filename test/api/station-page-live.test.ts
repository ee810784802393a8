import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { UploadView } from '../../src/station/index.js';
import { launchChromium } from '../helpers/browser.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { call, startStation } from '../helpers/station.js';
import { startLegacyServer } from '../uploads/legacy-server.js';

const ARTIFACTS = path.resolve('artifacts');

test('in the page: no Play while recording, “Live” only while recording, one unit system, 24-hour times, Cancel kept under progress, Cancel then Retry explained', async (t) => {
  const ingest = await startIngestServer(t);
  // A slow link (16 KiB/s) so that the upload is still running when the page cancels it.
  const proxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 16 * 1024 });
  const { url, server } = await startStation(t, { VULTR_API_URL: proxy.url, VULTR_UPLOAD_PROTOCOL: 'tus' });
  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));

  await page.goto(url);
  await page.locator('#connection', { hasText: 'Connected' }).waitFor();
  await page.getByLabel('Session name').fill('Live page');
  await page.getByRole('button', { name: 'Start recording' }).click();
  await page.locator('#connection', { hasText: 'Live' }).waitFor();
  const card = page.locator('#recordings-list li', { hasText: 'Live page' });
  await card.waitFor();
  assert.equal(await card.getAttribute('data-state'), 'recording');
  assert.equal(await card.getByRole('button', { name: 'Play' }).count(), 0, 'no Play while recording');
  assert.equal(await card.getByRole('link', { name: 'Download' }).count(), 0, 'no Download while recording');
  await page.waitForTimeout(3000);
  await page.getByRole('button', { name: 'Stop recording' }).click();
  await page.locator('#connection', { hasText: 'Connected' }).waitFor({ timeout: 30_000 });
  await card.getByRole('button', { name: 'Play' }).waitFor({ timeout: 30_000 });
  const meta = (await card.locator('.meta').textContent()) ?? '';
  assert.match(meta, /\d{4}-\d{2}-\d{2} \d{2}:\d{2} · /, `24-hour time: ${meta}`);
  assert.doesNotMatch(meta, /AM|PM/);
  assert.match(meta, /\d (KiB|MiB)$/, `binary units, as the CLI: ${meta}`);

  // The upload is under way: hold its Cancel button while progress events arrive.
  const item = page.locator('#uploads-list li[data-state="uploading"]');
  await item.waitFor({ timeout: 30_000 });
  const taskId = (await item.getAttribute('data-task-id')) ?? '';
  const cancel = await item.getByRole('button', { name: 'Cancel' }).elementHandle();
  assert.ok(cancel);
  const task = server.station.listUploads(10).find((u) => u.task_id === taskId) as UploadView;
  for (const sent of [1000, 2000, 3000]) {
    server.station.emit('upload', {
      ...task,
      state: 'uploading',
      bytes_sent: sent,
      rate_bytes_per_second: 1536,
    });
    await page
      .locator(`#uploads-list li[data-task-id="${taskId}"] .detail`, { hasText: '1.5 KiB/s' })
      .waitFor();
  }
  assert.equal(
    await cancel.evaluate((b) => b.isConnected),
    true,
    'the same Cancel button is still in the page',
  );
  await cancel.click();
  const row = page.locator(`#uploads-list li[data-task-id="${taskId}"]`);
  await page.locator(`#uploads-list li[data-task-id="${taskId}"][data-state="cancelled"]`).waitFor();
  proxy.set({}); // full speed for the retry
  await row.getByRole('button', { name: 'Retry' }).click();
  await page
    .locator(`#uploads-list li[data-task-id="${taskId}"][data-state="completed"]`)
    .waitFor({ timeout: 60_000 });
  await row.locator('summary', { hasText: 'History' }).click();
  const history = row.locator('details.history li', { hasText: 'partial upload is deleted' });
  await history.waitFor();
  const lines = (await row.locator('details.history').textContent()) ?? '';
  assert.doesNotMatch(lines, /dropped/, lines);
  assert.match(lines, /\d{4}-\d{2}-\d{2} \d{2}:\d{2} completed/);
  assert.doesNotMatch((await row.textContent()) ?? '', /\d (KB|MB)\b/, 'no decimal units');
  assert.match(
    (await row.locator('.detail').textContent()) ?? '',
    new RegExp(`sha256 confirmed by the server · to ${proxy.url}`),
  );

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'station-page-live.png'), fullPage: true });
  assert.deepEqual(problems, []);
  await browser.close();
});

test('in the page: a station with a token shows a sign-in screen in plain words, then the dashboard', async (t) => {
  const { url } = await startStation(t, { STREAMAI_API_TOKEN: 'correct horse battery staple' });
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  await page.goto(url);
  await page.getByRole('heading', { name: 'Sign in to this station' }).waitFor();
  assert.equal(await page.locator('#dashboard').isVisible(), false, 'no dead dashboard');
  assert.match((await page.locator('#login').textContent()) ?? '', /access token/);
  assert.equal(await page.locator('#connection').textContent(), 'Sign-in needed');
  await page.getByLabel('Access token').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#login-error', { hasText: 'not the station’s access token' }).waitFor();
  await page.getByLabel('Access token').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#recorder-kind', { hasText: 'ffmpeg' }).waitFor();
  assert.equal(await page.locator('#login').isVisible(), false);
  await browser.close();
});

test('in the page: a server of the original’s kind (no checksum) is shown as accepted, not as confirmed', async (t) => {
  const legacy = await startLegacyServer(t);
  const { url } = await startStation(t, { VULTR_API_URL: legacy.url });
  assert.equal(
    (await call(`${url}/api/recording/start`, { method: 'POST', json: { sessionName: 'old server' } }))
      .status,
    200,
  );
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal((await call(`${url}/api/recording/stop`, { method: 'POST', json: {} })).status, 200);
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  await page.goto(url);
  const row = page.locator('#uploads-list li[data-state="completed"]');
  await row.waitFor({ timeout: 60_000 });
  const detail = (await row.locator('.detail').textContent()) ?? '';
  assert.match(detail, /accepted by the server, no checksum reported/);
  assert.doesNotMatch(detail, /confirmed/);
  await browser.close();
});
