import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SearchAnswer, TimelineFile, TranscriptFile } from '../../src/station/index.js';
import { launchChromium, pageProblems } from '../helpers/browser.js';
import { ffmpeg } from '../helpers/make-media.js';
import { call, eventually, startStation } from '../helpers/station.js';

const run = promisify(execFile);
type Json = Record<string, unknown>;
/** The parts of a <video> the test reads (the test's tsconfig has no DOM types). */
type Media = { currentTime: number; readyState: number; src: string; pause(): void };
const SENTENCES = ['the quick brown fox jumps over the lazy dog', 'thank you very much for listening'];

/**
 * A real recording to process: espeak-ng speech (two sentences with 3 s of silence between, so
 * the audio step finds a silence and the edit cuts it) over a moving test picture.
 */
async function makeSpeechVideo(dir: string): Promise<string> {
  const inputs: string[] = [];
  const delays: string[] = [];
  for (const [i, sentence] of SENTENCES.entries()) {
    const wav = path.join(dir, `s${i}.wav`);
    await run('espeak-ng', ['-s', '140', '-w', wav, sentence]);
    inputs.push('-i', wav);
    delays.push(`[${i}:a]adelay=${i === 0 ? 500 : 6500}:all=1[d${i}]`);
  }
  const file = path.join(dir, 'speech-test.mp4');
  await ffmpeg([
    ...inputs,
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=320x180:rate=15:duration=11',
    '-filter_complex',
    `${delays.join(';')};[d0][d1]amix=inputs=2:normalize=0,apad=whole_dur=11[a]`,
    '-map',
    '2:v',
    '-map',
    '[a]',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '30',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-ar',
    '48000',
    '-t',
    '11',
    file,
  ]);
  return file;
}

test('a processed recording: timeline drawn, transcript beside the player, phrase search across recordings', async (t) => {
  const { url, server, dir } = await startStation(t, {
    INGEST_TRANSCRIBE: 'pocketsphinx',
    VULTR_AUTO_UPLOAD: 'false',
  });
  const file = await makeSpeechVideo(dir);
  const { id: taskId } = await server.station.uploadService.enqueue(file, {
    autoProcess: true,
    knownComplete: true,
    sessionName: 'Speech test',
  });
  const processing = await eventually(
    async () => {
      const answer = await call(`${url}/api/vultr/upload/status/${taskId}`);
      const p = answer.body.processing as Json | null;
      return p && ['done', 'failed'].includes(String(p.state)) ? p : undefined;
    },
    180_000,
    'processing to finish',
  );
  assert.equal(processing.state, 'done', JSON.stringify(processing));
  const outputs = (processing.outputs as Array<{ name: string }>).map((o) => o.name);
  for (const name of ['timeline.json', 'transcript.json', 'web.mp4', 'edited.mp4'])
    assert.ok(outputs.includes(name), `${name} among ${outputs.join(', ')}`);
  const base = `${url}/api/vultr/upload/${taskId}/outputs`;
  const timeline = (await (await fetch(`${base}/timeline.json`)).json()) as TimelineFile;
  const transcript = (await (await fetch(`${base}/transcript.json`)).json()) as TranscriptFile;
  assert.ok(timeline.cuts.length > 0, 'the pause is cut');
  // Byte ranges pass through the station's proxy (the player seeks with them).
  const part = await fetch(`${base}/web.mp4`, { headers: { range: 'bytes=10-109' } });
  assert.equal(part.status, 206);
  assert.match(part.headers.get('content-range') ?? '', /^bytes 10-109\/\d+$/);
  assert.equal((await part.arrayBuffer()).byteLength, 100);
  assert.ok(transcript.segments.length > 0, 'pocketsphinx recognised something');

  // --- The full-text index: filled when the station saw processing done. ---
  const line = transcript.segments.find((s) => s.words.length >= 2) ?? transcript.segments[0]!;
  const phrase = line.words
    .slice(0, 2)
    .map((w) => w.text)
    .join(' ')
    .toUpperCase(); // case is ignored
  const found = await eventually(
    async () => {
      const answer = await call(`${url}/api/search?q=${encodeURIComponent(phrase)}`);
      const hits = (answer.body as SearchAnswer).hits ?? [];
      return answer.status === 200 && hits.length > 0 ? (answer.body as SearchAnswer) : undefined;
    },
    20_000,
    'the transcript to be indexed',
  );
  assert.equal(found.indexed, 1);
  const hit = found.hits.find((h) => h.start === line.start);
  assert.ok(hit, `a hit at the line's start: ${JSON.stringify(found.hits)}`);
  assert.equal(hit.task_id, taskId);
  assert.equal(hit.session_name, 'Speech test');
  assert.equal(hit.file_name, 'speech-test.mp4');
  // The words in another order are not the phrase; FTS5 operators in the text are plain words.
  const reversed = phrase.split(' ').reverse().join(' ');
  if (reversed !== phrase && !transcript.segments.some((s) => s.text.toUpperCase().includes(reversed))) {
    const none = await call(`${url}/api/search?q=${encodeURIComponent(reversed)}`);
    assert.deepEqual((none.body as SearchAnswer).hits, [], 'a phrase, not a bag of words');
  }
  for (const odd of ['NEAR(a b', '"', '* OR -x', 'réunion']) {
    const answer = await call(`${url}/api/search?q=${encodeURIComponent(odd)}`);
    assert.equal(answer.status, 200, `${odd}: ${JSON.stringify(answer.body)}`);
  }
  for (const bad of ['', `?q=${'x'.repeat(201)}`, '?q=%20%20']) {
    const answer = await call(`${url}/api/search${bad}`);
    assert.equal(answer.status, 400, `${bad}: ${JSON.stringify(answer.body)}`);
    assert.equal(((answer.body.error as Json) ?? {}).code, 'BAD_REQUEST');
  }

  // --- The page, in Chromium. ---
  const browser = await launchChromium(t);
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems = pageProblems(page);
  await page.goto(url);
  const media = page.locator(`.media[data-task-id="${taskId}"]`);
  await media.waitFor({ timeout: 30_000 });
  const chart = media.locator('svg.timeline-chart');
  await chart.waitFor();
  assert.match((await chart.locator('path.loudness').getAttribute('d')) ?? '', /^M\d+ [\d.]+L/, 'a curve');
  assert.equal(await chart.locator('rect.cut').count(), timeline.cuts.length);
  assert.equal(await chart.locator('rect.silence').count(), timeline.silences.length);
  assert.ok((await media.locator('.thumbnail-strip .tile').count()) > 0, 'thumbnail strip');
  const video = media.locator('video.task-player');
  await eventually(
    async () => ((await video.evaluate((v) => (v as unknown as Media).readyState)) >= 1 ? true : undefined),
    20_000,
    'the web copy to load',
  );
  const currentTime = (): Promise<number> => video.evaluate((v) => (v as unknown as Media).currentTime);
  const seekedTo = (expected: number, what: string): Promise<true> =>
    eventually(
      async () => (Math.abs((await currentTime()) - expected) < 0.6 ? true : undefined),
      10_000,
      what,
    );

  // Hover shows the time; a click seeks the player there.
  await chart.scrollIntoViewIfNeeded();
  const box = (await chart.boundingBox())!;
  await page.mouse.move(box.x + box.width * 0.75, box.y + box.height / 2);
  const hover = media.locator('.timeline-hover');
  await hover.waitFor();
  const hovered = Number(await hover.getAttribute('data-seconds'));
  assert.ok(Math.abs(hovered - timeline.duration * 0.75) < 0.5, `hover at ${hovered}`);
  assert.equal(await hover.locator('.hover-time').textContent(), '00:00:08');
  assert.match(
    (await hover
      .locator('.tile')
      .evaluate((n) => (n as unknown as { style: { backgroundImage: string } }).style.backgroundImage)) ?? '',
    /timeline-sprite/,
  );
  await page.mouse.click(box.x + box.width * 0.75, box.y + box.height / 2);
  await seekedTo(hovered, 'seek from the timeline');

  // The transcript beside the player: a click on a line seeks there.
  const lineButton = media.locator(`.transcript button[data-start="${line.start}"]`);
  await lineButton.waitFor();
  await lineButton.click();
  await seekedTo(line.start, 'seek from the transcript');
  await video.evaluate((v) => (v as unknown as Media).pause());

  // The toggle plays the edited version at the same moment: the time maps through the cuts.
  const at = timeline.duration - 1;
  await video.evaluate((v, seconds) => ((v as unknown as Media).currentTime = seconds), at);
  await seekedTo(at, 'seek near the end');
  const removedBefore = timeline.cuts.reduce((sum, c) => sum + Math.max(0, Math.min(at, c.end) - c.start), 0);
  await media.getByLabel('Edited (silences cut)').check();
  await seekedTo(at - removedBefore, 'the same moment in the edited version');
  assert.equal(await video.getAttribute('data-version'), 'edited');
  assert.match((await video.evaluate((v) => (v as unknown as Media).src)) ?? '', /edited\.mp4$/);
  await media.getByLabel('Original').check();
  assert.match((await video.evaluate((v) => (v as unknown as Media).src)) ?? '', /web\.mp4$/);

  // Search from the page: a hit seeks this recording's player.
  await video.evaluate((v, at) => ((v as unknown as Media).currentTime = at), timeline.duration - 0.5);
  await page.getByLabel('Phrase').fill(phrase.toLowerCase());
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  const result = page.locator(`#search-results button[data-task-id="${taskId}"][data-start="${line.start}"]`);
  await result.waitFor();
  await result.click();
  await seekedTo(line.start, 'seek from a search hit');

  // Kept as an artifact of the run (docs/station-timeline.png is a reduced copy of one).
  mkdirSync('artifacts', { recursive: true });
  // A hit on a recording whose upload is no longer listed opens the page's player there.
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  const item = page.locator(`#uploads-list li[data-task-id="${taskId}"]`);
  await item.screenshot({ path: path.join('artifacts', 'station-timeline.png') });
  await item.evaluate((node) => (node as unknown as { remove(): void }).remove());
  await result.click();
  const dialogVideo = page.locator('#player-video');
  await page.locator('#player[open]').waitFor();
  assert.match((await dialogVideo.evaluate((v) => (v as unknown as Media).src)) ?? '', /web\.mp4$/);
  await eventually(
    async () =>
      Math.abs((await dialogVideo.evaluate((v) => (v as unknown as Media).currentTime)) - line.start) < 0.6
        ? true
        : undefined,
    10_000,
    'the dialog player at the line',
  );

  assert.deepEqual(problems, [], 'no errors in the page');
  await browser.close();
});
