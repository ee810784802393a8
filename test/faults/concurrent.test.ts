import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from '../helpers/fault-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { makeBigClip, openService, sha256Of, testSettings } from '../uploads/upload-fixtures.js';
import { MiB, peakRss, scenario, settled, startIngest } from './support.js';

const UPLOADS = 20;
const SIZE = 4 * MiB;

test(`${UPLOADS} uploads at once to one ingest server: all verified; its peak RSS recorded`, async (t) => {
  const figures = scenario(t, 'concurrent', `${UPLOADS} concurrent uploads`, 'all completed and verified');
  const dir = await tempDir(t, 'streamai-fault-many-');
  const dataDir = path.join(dir, 'ingest-data');
  const ingest = await startIngest(t, { dir, dataDir, port: await freePort() });
  const rssAtStart = await peakRss(ingest.pid);
  const base = await makeBigClip(path.join(dir, 'base.mkv'), SIZE);
  const files: string[] = [];
  for (let i = 0; i < UPLOADS; i += 1) {
    const file = path.join(dir, `parallel ${i}.mkv`);
    await copyFile(base, file);
    await appendFile(file, randomBytes(64 * 1024)); // a different digest each
    files.push(file);
  }
  const { service } = openService(
    t,
    path.join(dir, 'station'),
    // Above the configuration's limit of 16 on purpose: this is the server's load test.
    testSettings(path.join(dir, 'station'), ingest.url, { concurrency: UPLOADS, chunkSizeBytes: 1 * MiB }),
  );
  const tasks = await Promise.all(files.map((file) => service.enqueue(file, { autoProcess: false })));
  figures.faults = UPLOADS;
  const finals = await Promise.all(tasks.map((task) => settled(service, task.id, 180_000)));
  for (const [i, final] of finals.entries()) {
    assert.equal(final.state, 'completed', `${final.id}: ${JSON.stringify(final.lastError)}`);
    const file = files[i] ?? '';
    const digest = await sha256Of(file);
    assert.equal(final.sha256, digest);
    assert.equal(await sha256Of(path.join(dataDir, final.id, path.basename(file))), digest);
    figures.count('completed and verified');
  }
  const rss = await peakRss(ingest.pid);
  assert.ok(rss > 0, 'peak RSS read from /proc');
  figures.notes.push(
    `${SIZE / MiB} MiB each; ingest peak RSS ${(rss / MiB).toFixed(0)} MiB (${(rssAtStart / MiB).toFixed(0)} MiB idle)`,
  );
  figures.pass();
});
