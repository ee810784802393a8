/**
 * A processed recording under its upload: a player, the timeline (timeline.json) and the
 * transcript beside the player (transcript.json). The player plays the original (the server's
 * web copy of the whole recording) or the edited version (silences cut); the timeline and the
 * transcript speak in the original's seconds, so seeking in the edited version maps through
 * the cuts. Built once per task when processing is done; only the playhead and the current
 * line change afterwards.
 */
import { messageOf } from './api.js';
import type { TimelineFile, TranscriptFile, UploadView } from './api-types.js';
import { el } from './dom.js';
import { formatDuration } from './format.js';
import { drawTimeline, type TimelineChart } from './timeline-chart.js';

type Range = { start: number; end: number };
type Version = 'original' | 'edited';

/** Original seconds → edited seconds: everything cut before is gone; inside a cut, its end. */
export function toEdited(seconds: number, cuts: Range[]): number {
  let removed = 0;
  for (const cut of cuts) {
    if (cut.start >= seconds) break;
    removed += Math.min(seconds, cut.end) - cut.start;
  }
  return Math.max(0, seconds - removed);
}

/** Edited seconds → original seconds (the inverse of toEdited outside the cuts). */
export function toOriginal(seconds: number, cuts: Range[]): number {
  let at = seconds;
  for (const cut of cuts) {
    if (cut.start > at) break;
    at += cut.end - cut.start;
  }
  return at;
}

async function fetchJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

/** Players by task id, so a search hit can seek the one already shown. */
const players = new Map<string, { video: HTMLVideoElement; seek: (seconds: number) => void }>();

/**
 * Seeks a task's player (original seconds); false when it is not on the page (its upload fell
 * out of the recent ten, so its item was taken out of the list).
 */
export function seekTask(taskId: string, seconds: number): boolean {
  const player = players.get(taskId);
  if (!player?.video.isConnected) return false;
  player.seek(seconds);
  return true;
}

export function renderMedia(u: UploadView, outputs: Set<string>): HTMLElement | null {
  const hasOriginal = outputs.has('web.mp4');
  const hasEdited = outputs.has('edited.mp4');
  if (!hasOriginal && !hasEdited) return null;
  const base = `/api/vultr/upload/${encodeURIComponent(u.task_id)}/outputs/`;
  const outputUrl = (name: string): string => base + encodeURIComponent(name);
  const video = el('video', {
    class: 'task-player',
    controls: '',
    preload: 'metadata',
    'aria-label': `Player for ${u.file_name}`,
  });
  let version: Version = hasOriginal ? 'original' : 'edited';
  let cuts: Range[] = [];
  let chart: TimelineChart | undefined;
  const originalTime = (): number =>
    version === 'edited' ? toOriginal(video.currentTime, cuts) : video.currentTime;
  const seek = (seconds: number): void => {
    video.currentTime = version === 'edited' ? toEdited(seconds, cuts) : seconds;
  };
  players.set(u.task_id, { video, seek });
  const play = (next: Version): void => {
    const at = video.src ? originalTime() : 0;
    version = next;
    video.src = outputUrl(next === 'edited' ? 'edited.mp4' : 'web.mp4');
    video.dataset.version = next;
    if (at > 0) video.addEventListener('loadedmetadata', () => seek(at), { once: true });
  };
  play(version);

  const toggle = el('div', { class: 'version-toggle', role: 'radiogroup', 'aria-label': 'Version to play' });
  if (hasOriginal && hasEdited) {
    for (const [value, label] of [
      ['original', 'Original'],
      ['edited', 'Edited (silences cut)'],
    ] as const) {
      const input = el('input', { type: 'radio', name: `version-${u.task_id}`, value });
      input.checked = value === version;
      input.addEventListener('change', () => {
        if (input.checked) play(value);
      });
      toggle.append(el('label', {}, input, ` ${label}`));
    }
  }

  const transcript = el('ol', { class: 'transcript', 'aria-label': `Transcript of ${u.file_name}` });
  transcript.hidden = true;
  const lines: Array<{ start: number; end: number; node: HTMLElement }> = [];
  const timelineSlot = el('div', { class: 'timeline-slot' });
  const problem = el('p', { class: 'error' });
  problem.hidden = true;

  video.addEventListener('timeupdate', () => {
    const at = originalTime();
    chart?.setPlayhead(at);
    for (const line of lines) line.node.classList.toggle('current', at >= line.start && at < line.end);
  });

  const fail = (e: unknown): void => {
    problem.hidden = false;
    problem.textContent = messageOf(e);
  };
  if (outputs.has('timeline.json')) {
    fetchJson<TimelineFile>(outputUrl('timeline.json'))
      .then((timeline) => {
        cuts = [...timeline.cuts].sort((a, b) => a.start - b.start);
        chart = drawTimeline(timeline, outputUrl, seek);
        timelineSlot.replaceChildren(chart.root);
      })
      .catch(fail);
  }
  if (outputs.has('transcript.json')) {
    fetchJson<TranscriptFile>(outputUrl('transcript.json'))
      .then((file) => {
        for (const segment of file.segments) {
          const button = el(
            'button',
            { type: 'button', 'data-start': String(segment.start) },
            el('time', {}, formatDuration(segment.start)),
            ` ${segment.text}`,
          );
          button.addEventListener('click', () => {
            seek(segment.start);
            void video.play().catch(() => undefined);
          });
          const node = el('li', {}, button);
          lines.push({ start: segment.start, end: segment.end, node });
          transcript.append(node);
        }
        if (file.segments.length === 0) transcript.append(el('li', {}, 'No speech was recognised.'));
        transcript.hidden = false;
      })
      .catch(fail);
  }
  return el(
    'div',
    { class: 'media', 'data-task-id': u.task_id },
    el('div', { class: 'media-row' }, el('div', { class: 'media-player' }, video, toggle), transcript),
    timelineSlot,
    problem,
  );
}
