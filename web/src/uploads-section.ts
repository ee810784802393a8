/**
 * Recent uploads. Each task's item is built once and then updated in place, field by field: a
 * progress event changes the bar's value and a line of text, never the Cancel button under the
 * pointer (it is rebuilt only when the set of actions changes, e.g. uploading → failed).
 */
import { api, messageOf } from './api.js';
import type { ProcessingView, UploadView } from './api-types.js';
import { $, el, placeInOrder, setText } from './dom.js';
import { formatBytes, formatDateTime, formatDuration } from './format.js';
import { s3Detail } from './s3-detail.js';
import { renderMedia } from './task-media.js';

const ACTIVE = ['queued', 'uploading', 'retry_wait', 'validating', 'compressing'];

interface Item {
  root: HTMLLIElement;
  badge: HTMLElement;
  bar: HTMLProgressElement;
  detail: HTMLElement;
  actions: HTMLElement;
  actionsKey: string;
  error: HTMLElement;
  processing: HTMLElement;
  processingKey: string;
  history: HTMLDetailsElement;
  view: UploadView;
}

const items = new Map<string, Item>();

export async function loadUploads(): Promise<void> {
  const result = await api<{ uploads: UploadView[] }>('/api/vultr/uploads?limit=10');
  for (const u of result.uploads) update(u);
  renderOrder();
}

/** One task's new view (an SSE `upload` event or a fresh list). */
export function showUpload(view: UploadView): void {
  update(view);
  renderOrder();
}

function renderOrder(): void {
  const sorted = [...items.values()]
    .sort((a, b) => b.view.created_at.localeCompare(a.view.created_at))
    .slice(0, 10);
  placeInOrder(
    $('uploads-list'),
    sorted.map((i) => i.root),
  );
  $('uploads-empty').hidden = sorted.length > 0;
}

function update(u: UploadView): void {
  let item = items.get(u.task_id);
  if (!item) {
    item = create(u);
    items.set(u.task_id, item);
  }
  item.view = u;
  item.root.dataset.state = u.state;
  setText(item.badge, u.state);
  item.badge.className = `badge ${u.state}`;
  const percent = u.size > 0 ? Math.min(100, (u.bytes_sent / u.size) * 100) : 0;
  const value = percent.toFixed(1);
  // A recording sent while it records has no final size yet: the bar moves without a value.
  if (stillRecording(u)) item.bar.removeAttribute('value');
  else if (item.bar.getAttribute('value') !== value) item.bar.setAttribute('value', value);
  setText(item.detail, detailOf(u, percent));
  const actionsKey = ACTIVE.includes(u.state)
    ? 'cancel'
    : ['failed', 'cancelled'].includes(u.state)
      ? 'retry'
      : '';
  if (actionsKey !== item.actionsKey) {
    item.actionsKey = actionsKey;
    item.actions.replaceChildren(...actionButtons(u.task_id, actionsKey));
  }
  const error = u.last_error && u.state !== 'completed' ? u.last_error.message : '';
  setText(item.error, error);
  item.error.hidden = error === '';
  const processingKey = JSON.stringify(u.processing);
  if (processingKey !== item.processingKey) {
    item.processingKey = processingKey;
    item.processing.replaceChildren(...(u.processing ? renderProcessing(u, u.processing) : []));
  }
  if (item.history.open) void loadHistory(item);
}

/**
 * A recording sent part by part while it records: "3 of 4 parts on the server" and the backlog
 * waiting (it grows when the upload rate is below the recording's bitrate; nothing is dropped).
 */
function partsOf(u: UploadView): string {
  const p = u.parts;
  if (!p) return '';
  if (p.mode === 'joined') return ' · the joined recording is sent after Stop';
  const on =
    p.total === null
      ? `${p.uploaded} part${p.uploaded === 1 ? '' : 's'} on the server so far`
      : `${p.uploaded} of ${p.total} parts on the server`;
  const backlog = p.waiting > 0 ? ` · ${p.waiting} waiting (${formatBytes(p.waiting_bytes)})` : '';
  const open = p.open_part !== undefined ? ` · part ${p.open_part + 1} on its way as it records` : '';
  return ` · ${on}${backlog}${open}`;
}

function detailOf(u: UploadView, percent: number): string {
  if (u.s3) return s3Detail(u, u.s3, percent);
  const where = `${partsOf(u)}${u.target_url ? ` · to ${u.target_url}` : ''}`;
  if (u.state === 'completed' && u.parts?.mode === 'parts') {
    const to = u.target_url ? ` · to ${u.target_url}` : '';
    const n = u.parts.uploaded;
    const each =
      u.verified_by === 'sha256' ? 'each sha256 confirmed by the server' : 'accepted by the server';
    return `${formatBytes(u.size)} · ${n} part${n === 1 ? '' : 's'} joined on the server, ${each}${to}`;
  }
  if (u.state === 'completed') {
    // Say what the server confirmed, no more: a digest only when it reported the same one.
    const confirmed =
      u.verified_by === 'sha256'
        ? 'sha256 confirmed by the server'
        : 'accepted by the server, no checksum reported';
    return `${formatBytes(u.size)} · ${confirmed}${where}`;
  }
  if (u.state !== 'uploading') return `${formatBytes(u.bytes_sent)} of ${formatBytes(u.size)}${where}`;
  const rate = u.rate_bytes_per_second > 0 ? ` · ${formatBytes(u.rate_bytes_per_second)}/s` : '';
  if (stillRecording(u)) return `${formatBytes(u.bytes_sent)} sent${rate}${partsOf(u)}`;
  const eta = u.eta_seconds === null ? '' : ` · ETA ${formatDuration(u.eta_seconds)}`;
  return `${percent.toFixed(0)}%${rate}${eta}${partsOf(u)}`;
}

/** A recording's upload that goes on while it records (its size is not known yet). */
function stillRecording(u: UploadView): boolean {
  return u.parts?.mode === 'parts' && u.parts.total === null;
}

function create(u: UploadView): Item {
  const badge = el('span', { class: `badge ${u.state}` });
  const bar = el('progress', { max: '100', value: '0', 'aria-label': `Upload progress of ${u.file_name}` });
  const detail = el('span', { class: 'detail' });
  const actions = el('div', { class: 'actions' });
  const error = el('p', { class: 'error' });
  const processing = el('div', { class: 'processing-block' });
  const history = el('details', { class: 'history' }, el('summary', {}, 'History'), el('ol'));
  const root = el(
    'li',
    { 'data-task-id': u.task_id },
    el('div', { class: 'line' }, el('strong', {}, u.file_name), badge),
    bar,
    el('div', { class: 'line' }, detail, actions),
    error,
    processing,
    history,
  );
  const item: Item = {
    root,
    badge,
    bar,
    detail,
    actions,
    actionsKey: '-',
    error,
    processing,
    processingKey: '-',
    history,
    view: u,
  };
  history.addEventListener('toggle', () => {
    if (history.open) void loadHistory(item);
  });
  return item;
}

function actionButtons(taskId: string, key: string): HTMLElement[] {
  if (key === '') return [];
  const button = el('button', { type: 'button' }, key === 'cancel' ? 'Cancel' : 'Retry');
  button.addEventListener('click', () => void taskAction(taskId, key === 'cancel' ? 'cancel' : 'retry'));
  return [button];
}

async function loadHistory(item: Item): Promise<void> {
  try {
    const answer = await api<{ history: Array<{ at: string; state: string; message: string | null }> }>(
      `/api/vultr/upload/status/${encodeURIComponent(item.view.task_id)}`,
    );
    const lines = answer.history.map((h) =>
      el('li', {}, `${formatDateTime(h.at)} ${h.state}${h.message ? `: ${h.message}` : ''}`),
    );
    item.history.querySelector('ol')?.replaceChildren(...lines);
  } catch (e) {
    item.history.querySelector('ol')?.replaceChildren(el('li', { class: 'error' }, messageOf(e)));
  }
}

function renderProcessing(u: UploadView, p: ProcessingView): HTMLElement[] {
  const out: HTMLElement[] = [
    el(
      'div',
      { class: 'line processing', 'data-processing-state': p.state },
      el(
        'span',
        {},
        `Processing: ${p.state}${p.state === 'processing' ? ` (${Math.round(p.progress * 100)}%)` : ''}`,
      ),
    ),
  ];
  if (p.report) out.push(renderReport(p.report));
  if (p.error) out.push(el('p', { class: 'error' }, p.error.message));
  const base = `/api/vultr/upload/${encodeURIComponent(u.task_id)}/outputs/`;
  const names = new Set(p.outputs.map((o) => o.name));
  if (names.has('thumbnail.jpg')) {
    out.push(
      el('img', {
        class: 'processed-thumbnail',
        src: `${base}thumbnail.jpg`,
        alt: `Thumbnail made by the processing server for ${u.file_name}`,
        loading: 'lazy',
      }),
    );
  }
  const media = p.state === 'done' ? renderMedia(u, names) : null;
  if (media) out.push(media);
  const links = [
    ['web.mp4', 'Web version'],
    ['edited.mp4', 'Edited (silences cut)'],
    ['contact-sheet.jpg', 'Contact sheet'],
  ].filter(([name]) => names.has(name ?? ''));
  if (links.length > 0) {
    out.push(
      el(
        'div',
        { class: 'actions outputs' },
        ...links.map(([name, label]) =>
          el('a', { href: `${base}${name ?? ''}`, target: '_blank', rel: 'noopener' }, label ?? ''),
        ),
      ),
    );
  }
  return out;
}

/** The report fields a user reads, with their units; the rest stays in the server's report.json. */
const REPORT_FIELDS: Array<[string, string, (v: number) => string]> = [
  ['original_duration', 'Original', (v) => formatDuration(v)],
  ['edited_duration', 'Edited', (v) => formatDuration(v)],
  ['time_saved', 'Time saved', (v) => `${v.toFixed(1)} s`],
  ['segments_removed', 'Silences cut', (v) => String(Math.round(v))],
  ['silence_removed', 'Silence removed', (v) => `${v.toFixed(1)} s`],
  ['integrated_loudness', 'Loudness', (v) => `${v.toFixed(1)} LUFS`],
];

function renderReport(report: Record<string, unknown>): HTMLElement {
  const loudness = report.loudness as Record<string, unknown> | undefined;
  const values: Record<string, unknown> = { ...report, integrated_loudness: loudness?.integrated_lufs };
  const rows = REPORT_FIELDS.filter(([key]) => typeof values[key] === 'number').map(([key, label, format]) =>
    el('div', {}, el('dt', {}, label), el('dd', {}, format(values[key] as number))),
  );
  const failed = Array.isArray(report.failed_steps)
    ? (report.failed_steps as Array<{ name?: unknown; message?: unknown }>)
    : [];
  for (const step of failed) {
    rows.push(
      el(
        'div',
        { class: 'error' },
        el('dt', {}, `${String(step.name)} step`),
        el('dd', {}, `failed: ${String(step.message)}`),
      ),
    );
  }
  return el('dl', { class: 'report', 'aria-label': 'Processing report' }, ...rows);
}

async function taskAction(taskId: string, action: 'cancel' | 'retry'): Promise<void> {
  try {
    const answer = await api<{ upload: UploadView }>(
      `/api/vultr/upload/${encodeURIComponent(taskId)}/${action}`,
      { method: 'POST', body: '{}' },
    );
    showUpload(answer.upload);
  } catch (e) {
    alert(messageOf(e));
  }
}
