import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { launchChromium } from '../helpers/browser.js';
import { call, eventually } from '../helpers/station.js';
import { stationOnSmallDisk } from './tmpfs.js';

const ARTIFACTS = path.resolve('artifacts');

async function recordAndUpload(url: string, name: string): Promise<string> {
  const started = await call(`${url}/api/recording/start`, { method: 'POST', json: { sessionName: name } });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal((await call(`${url}/api/recording/stop`, { method: 'POST' })).status, 200);
  const id = (started.body.recording as { id: string }).id;
  await eventually(
    async () => {
      const r = (await call(`${url}/api/recordings/${id}`)).body.recording as {
        upload: { state: string } | null;
      };
      return r.upload?.state === 'completed' ? r : undefined;
    },
    90_000,
    'the upload',
  );
  return id;
}

test('in the page: the policy, what it will clean next and when, and what it deleted and why', async (t) => {
  // delete-after-days:1: a confirmed recording is listed as the next to go, with its date.
  const later = await stationOnSmallDisk(t, (disk) => ({
    RECORDINGS_PATH: path.join(disk, 'recordings'),
    RECORDINGS_RETENTION: 'delete-after-days:1',
    RECORDING_MIN_FREE_BYTES: '1MiB',
  }));
  await recordAndUpload(later.url, 'Kept a day');
  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(later.url);
  await page.locator('#retention-facts', { hasText: 'delete-after-days:1' }).waitFor();
  const next = page.locator('#retention-next li', { hasText: 'Kept a day' });
  await next.waitFor({ timeout: 15_000 });
  // The date it becomes due, in the page's 24-hour format.
  assert.match((await next.textContent()) ?? '', /, from \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
  assert.match((await page.locator('#retention-deleted').textContent()) ?? '', /Nothing deleted/);

  // max-gb far below one recording: it is deleted once the server confirmed it, and the page says why.
  const cleaned = await stationOnSmallDisk(t, (disk) => ({
    RECORDINGS_PATH: path.join(disk, 'recordings'),
    RECORDINGS_RETENTION: 'max-gb:0.000001',
    RECORDING_MIN_FREE_BYTES: '1MiB',
  }));
  await recordAndUpload(cleaned.url, 'Cleaned');
  await eventually(
    async () =>
      ((await call(`${cleaned.url}/api/retention`)).body.deleted as unknown[]).length > 0 || undefined,
    30_000,
    'the deletion',
  );
  await page.goto(cleaned.url);
  const deleted = page.locator('#retention-deleted li', { hasText: '.mkv' });
  await deleted.waitFor({ timeout: 15_000 });
  const text = (await deleted.textContent()) ?? '';
  assert.match(text, /max-gb:0\.000001/);
  // Recorded in parts (RECORDING_SEGMENT_SECONDS' default) or as one file: a confirmed digest either way.
  assert.match(
    text,
    /(sha256 [0-9a-f]{12}…|parts?, (each|its) sha256) confirmed by the server (and joined there )?\(task_/,
  );
  assert.doesNotMatch((await page.locator('#retention-kept').textContent()) ?? '', /\.mkv/);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.locator('#retention').screenshot({ path: path.join(ARTIFACTS, 'station-retention.png') });
  assert.deepEqual(problems, []);
});
