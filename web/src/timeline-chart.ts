/**
 * Draws a recording's timeline.json as SVG made by our own code (no library, no CDN): the
 * momentary loudness curve, silences and cuts shaded, chapter marks, and the thumbnail strip
 * from the sprite sheet. Hovering shows the time and the nearest frame; clicking seeks.
 * Times are seconds of the original recording.
 */
import type { TimelineFile } from './api-types.js';
import { el, setText } from './dom.js';
import { formatDuration } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
/** Drawing units: the SVG scales to the card's width, so the path needs no redraw on resize. */
const WIDTH = 1000;
const HEIGHT = 120;
/** Loudness axis: the ebur128 gate (-70 LUFS) at the bottom, 0 LUFS at the top. */
const FLOOR_LUFS = -70;

export interface TimelineChart {
  root: HTMLElement;
  /** Moves the playhead (seconds of the original). */
  setPlayhead(seconds: number): void;
}

function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

/**
 * The curve as path data, at most one point per drawing unit (the loudest value of each
 * bucket, so a short shout still shows on a 3-hour recording); a gated value (null) breaks it.
 */
export function loudnessPath(momentary: Array<number | null>, interval: number, duration: number): string {
  if (duration <= 0 || momentary.length === 0) return '';
  const buckets = new Map<number, number | null>();
  momentary.forEach((value, i) => {
    const x = Math.min(WIDTH, Math.round((((i + 1) * interval) / duration) * WIDTH));
    const before = buckets.get(x);
    if (value === null) {
      if (!buckets.has(x)) buckets.set(x, null);
    } else if (before === undefined || before === null || value > before) buckets.set(x, value);
  });
  let d = '';
  let drawing = false;
  for (const [x, value] of [...buckets.entries()].sort((a, b) => a[0] - b[0])) {
    if (value === null) {
      drawing = false;
      continue;
    }
    const level = Math.min(1, Math.max(0, (value - FLOOR_LUFS) / -FLOOR_LUFS));
    d += `${drawing ? 'L' : 'M'}${x} ${(HEIGHT * (1 - level)).toFixed(1)}`;
    drawing = true;
  }
  return d;
}

function xOf(seconds: number, duration: number): number {
  return duration > 0 ? Math.min(WIDTH, Math.max(0, (seconds / duration) * WIDTH)) : 0;
}

function shade(ranges: Array<{ start: number; end: number }>, duration: number, kind: string): SVGElement[] {
  return ranges.map((r) => {
    const x = xOf(r.start, duration);
    const rect = svg('rect', {
      class: kind,
      x,
      y: 0,
      width: Math.max(1, xOf(r.end, duration) - x),
      height: HEIGHT,
    });
    rect.append(svg('title', {}));
    rect.lastChild!.textContent = `${kind === 'cut' ? 'Cut' : 'Silence'} ${formatDuration(r.start)}–${formatDuration(r.end)}`;
    return rect;
  });
}

/** Sets a tile of the sprite as an element's background (CSSOM, allowed by the page's CSP). */
function showTile(
  node: HTMLElement,
  thumbnails: NonNullable<TimelineFile['thumbnails']>,
  spriteUrl: string,
  index: number,
): void {
  const column = index % thumbnails.columns;
  const row = Math.floor(index / thumbnails.columns);
  node.style.width = `${thumbnails.tile_width}px`;
  node.style.height = `${thumbnails.tile_height}px`;
  node.style.backgroundImage = `url("${spriteUrl}")`;
  node.style.backgroundPosition = `-${column * thumbnails.tile_width}px -${row * thumbnails.tile_height}px`;
}

/** The tile nearest to a time (tiles are at `times`, `interval` apart). */
export function tileAt(times: number[], seconds: number): number {
  let best = 0;
  times.forEach((t, i) => {
    if (Math.abs(t - seconds) < Math.abs((times[best] ?? 0) - seconds)) best = i;
  });
  return best;
}

export function drawTimeline(
  timeline: TimelineFile,
  outputUrl: (name: string) => string,
  onSeek: (seconds: number) => void,
): TimelineChart {
  const { duration, loudness, thumbnails } = timeline;
  const chart = svg('svg', {
    class: 'timeline-chart',
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    preserveAspectRatio: 'none',
    role: 'img',
    'aria-label': `Loudness over ${formatDuration(duration)}: ${timeline.silences.length} silences, ${timeline.cuts.length} cuts`,
  });
  chart.append(
    ...shade(timeline.silences, duration, 'silence'),
    ...shade(timeline.cuts, duration, 'cut'),
    svg('path', { class: 'loudness', d: loudnessPath(loudness.momentary, loudness.interval, duration) }),
  );
  const marks = el('div', { class: 'chapter-marks' });
  for (const chapter of timeline.chapters ?? []) {
    const x = xOf(chapter.start, duration);
    chart.append(svg('line', { class: 'chapter', x1: x, x2: x, y1: 0, y2: HEIGHT }));
    const mark = el(
      'button',
      {
        type: 'button',
        class: 'chapter-mark',
        title: `${chapter.title} at ${formatDuration(chapter.start)}`,
      },
      chapter.title,
    );
    mark.style.left = `${(x / WIDTH) * 100}%`;
    mark.addEventListener('click', () => onSeek(chapter.start));
    marks.append(mark);
  }
  const playhead = svg('line', { class: 'playhead', x1: 0, x2: 0, y1: 0, y2: HEIGHT });
  chart.append(playhead);

  const strip = el('div', { class: 'thumbnail-strip', 'aria-hidden': 'true' });
  const spriteUrl = thumbnails ? outputUrl(thumbnails.sprite) : '';
  if (thumbnails) {
    // As many tiles as fit the strip's width evenly spaced: at most one every 10 % of the width.
    const shown = Math.min(thumbnails.times.length, 10);
    for (let k = 0; k < shown; k++) {
      const index = Math.round((k * (thumbnails.times.length - 1)) / Math.max(1, shown - 1));
      const tile = el('div', { class: 'tile' });
      showTile(tile, thumbnails, spriteUrl, index);
      strip.append(tile);
    }
  }

  const hoverFrame = el('div', { class: 'tile' });
  const hoverTime = el('span', { class: 'hover-time' });
  const hover = el('div', { class: 'timeline-hover', role: 'tooltip' }, hoverFrame, hoverTime);
  hover.hidden = true;
  const area = el('div', { class: 'timeline-area' }, marks, strip);
  area.insertBefore(chart, strip);
  area.append(hover);
  const timeAt = (event: MouseEvent): number => {
    const box = area.getBoundingClientRect();
    return Math.min(duration, Math.max(0, ((event.clientX - box.left) / Math.max(1, box.width)) * duration));
  };
  area.addEventListener('mousemove', (event) => {
    const seconds = timeAt(event);
    hover.hidden = false;
    setText(hoverTime, formatDuration(seconds));
    hover.dataset.seconds = seconds.toFixed(2);
    if (thumbnails && thumbnails.times.length > 0) {
      showTile(hoverFrame, thumbnails, spriteUrl, tileAt(thumbnails.times, seconds));
    } else hoverFrame.hidden = true;
    const box = area.getBoundingClientRect();
    hover.style.left = `${Math.min(box.width - 170, Math.max(0, event.clientX - box.left - 80))}px`;
  });
  area.addEventListener('mouseleave', () => (hover.hidden = true));
  chart.addEventListener('click', (event) => onSeek(timeAt(event)));
  strip.addEventListener('click', (event) => onSeek(timeAt(event)));

  const root = el('div', { class: 'timeline', 'data-duration': String(duration) }, area);
  return {
    root,
    setPlayhead(seconds: number): void {
      const x = xOf(seconds, duration).toFixed(1);
      playhead.setAttribute('x1', x);
      playhead.setAttribute('x2', x);
    },
  };
}
