import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { launchChromium } from '../helpers/browser.js';
import { eventually, startStation } from '../helpers/station.js';

// Screenshots are kept as artifacts of the run (artifacts/ is ignored by git).
const ARTIFACTS = path.resolve('artifacts');

test('in the page: start a recording, stop it, see it listed and its upload completed with progress shown', async (t) => {
  const { url } = await startStation(t);
  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });

  await page.goto(url);
  await page.getByText('ffmpeg', { exact: true }).waitFor();
  await page.getByLabel('Session name').fill('Browser session');
  await page.getByRole('button', { name: 'Start recording' }).click();
  await page.getByRole('button', { name: 'Stop recording' }).waitFor({ timeout: 15_000 });
  await page.locator('#recorder-state', { hasText: 'recording' }).waitFor();
  await page.waitForTimeout(2500);
  await page.getByRole('button', { name: 'Stop recording' }).click();
  await page.getByRole('button', { name: 'Start recording' }).waitFor({ timeout: 30_000 });

  const card = page.locator('#recordings-list li', { hasText: 'Browser session' });
  await card.waitFor({ timeout: 30_000 });
  await card.locator('img').waitFor();
  const upload = page.locator('#uploads-list li[data-state="completed"]');
  await upload.waitFor({ timeout: 90_000 });
  assert.equal(await upload.locator('progress').getAttribute('value'), '100.0');
  assert.match((await upload.textContent()) ?? '', /\.mkv/);

  // Processing on the server shows up too: its state, its report and the thumbnail it made.
  await upload.locator('[data-processing-state="done"]').waitFor({ timeout: 120_000 });
  await upload.locator('dl.report').waitFor();
  assert.match((await upload.locator('dl.report').textContent()) ?? '', /Original.*Edited.*Time saved/);
  const processedThumbnail = upload.locator('img.processed-thumbnail');
  await processedThumbnail.waitFor();
  await eventually(
    async () => {
      const width = await processedThumbnail.evaluate(
        (img) => (img as unknown as { naturalWidth: number }).naturalWidth,
      );
      return width > 0 ? true : undefined;
    },
    10_000,
    'the processed thumbnail to decode',
  );

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'station-page.png'), fullPage: true });

  // The thumbnail really loaded (not a broken image).
  const thumbnailWidth = await card
    .locator('img')
    .evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth);
  assert.ok(thumbnailWidth > 0, 'thumbnail decoded');
  assert.deepEqual(problems, [], 'no errors in the page');
});

test('a page on another origin cannot start a recording through the browser', async (t) => {
  const { url } = await startStation(t);
  // The classic cross-site request forgery: a page elsewhere auto-submits a form to the station.
  const target = `${url}/api/recording/start`;
  const evil = createServer((_request, response) => {
    response.setHeader('content-type', 'text/html');
    response.end(
      `<!doctype html><title>elsewhere</title>` +
        `<form id="f" method="POST" action="${target}" enctype="text/plain">` +
        `<input name='{"sessionName":"csrf","x":"' value='"}'></form>` +
        `<script>document.getElementById('f').submit()</script>`,
    );
  });
  await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        evil.close(() => resolve());
        evil.closeAllConnections();
      }),
  );
  const evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}/`;

  const browser = await launchChromium(t);
  const page = await browser.newPage();
  const answered = page.waitForResponse((response) => response.url() === target, { timeout: 15_000 });
  await page.goto(evilUrl);
  const response = await answered;
  assert.equal(response.status(), 403);
  assert.match(await response.text(), /CROSS_SITE_REQUEST/);
  const status = (await (await fetch(`${url}/api/status`)).json()) as { recorder: { recording: boolean } };
  assert.equal(status.recorder.recording, false, 'the cross-site request did not start a recording');
  await browser.close(); // before the servers close, so that no open connection keeps them waiting
});
