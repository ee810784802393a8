/** The station page: renders state from the REST API and keeps it live with Server-Sent Events. */
import type { ErrorResponse, RecordingView, StatusResponse, UploadView } from './api-types.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`missing #${id}`);
  return element as T;
};

let status: StatusResponse | undefined;
const uploads = new Map<string, UploadView>();
let timerHandle: number | undefined;

class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const response = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  const body = (await response.json().catch(() => ({}))) as T | ErrorResponse;
  if (!response.ok) {
    const error = (body as ErrorResponse).error ?? {
      code: 'HTTP_' + response.status,
      message: response.statusText,
    };
    if (response.status === 401) showLogin();
    throw new ApiError(error.code, error.message, response.status);
  }
  return body as T;
}

function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}`;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<Record<string, string>> = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) if (value !== undefined) element.setAttribute(key, value);
  element.append(...children);
  return element;
}

function showLogin(): void {
  $('login').hidden = false;
}

// ---- Recorder -------------------------------------------------------------------------------

function renderStatus(next: StatusResponse): void {
  status = next;
  const r = next.recorder;
  $('recorder-kind').textContent = r.kind === 'obs' ? 'OBS Studio' : 'ffmpeg';
  $('recorder-connection').textContent = r.connected
    ? 'connected'
    : `not connected${r.error ? ` (${r.error})` : ''}`;
  $('recorder-state').textContent = r.recording ? `recording “${r.session?.name ?? ''}”` : 'idle';
  const button = $<HTMLButtonElement>('record-button');
  button.textContent = r.recording ? 'Stop recording' : 'Start recording';
  button.classList.toggle('recording', r.recording);
  button.disabled = !r.connected && !r.recording;
  const input = $<HTMLInputElement>('session-name');
  input.disabled = r.recording;
  input.required = !r.recording;
  if (r.recording && r.session) input.value = r.session.name;
  const connection = $('connection');
  connection.textContent = r.recording ? '● Recording' : 'Live';
  connection.className = `badge ${r.recording ? 'recording' : 'ok'}`;
  renderVultrConfig(next);
  tickTimer();
  if (r.recording && timerHandle === undefined) timerHandle = window.setInterval(tickTimer, 1000);
  if (!r.recording && timerHandle !== undefined) {
    window.clearInterval(timerHandle);
    timerHandle = undefined;
  }
}

function tickTimer(): void {
  const r = status?.recorder;
  const elapsed = r?.recording && r.startedAt ? (Date.now() - Date.parse(r.startedAt)) / 1000 : 0;
  $('recorder-timer').textContent = formatDuration(elapsed);
}

async function onRecordSubmit(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const button = $<HTMLButtonElement>('record-button');
  const error = $('record-error');
  error.textContent = '';
  button.disabled = true;
  try {
    if (status?.recorder.recording) {
      await api('/api/recording/stop', { method: 'POST', body: '{}' });
    } else {
      const sessionName = $<HTMLInputElement>('session-name').value.trim();
      await api('/api/recording/start', { method: 'POST', body: JSON.stringify({ sessionName }) });
    }
    renderStatus(await api<StatusResponse>('/api/status'));
  } catch (e) {
    error.textContent = e instanceof Error ? e.message : String(e);
    button.disabled = false;
  }
}

// ---- Recordings -----------------------------------------------------------------------------

async function loadRecordings(): Promise<void> {
  const { recordings } = await api<{ recordings: RecordingView[] }>('/api/recordings');
  const list = $('recordings-list');
  list.replaceChildren(...recordings.map(renderRecording));
  $('recordings-empty').hidden = recordings.length > 0;
}

function uploadBadge(upload: UploadView | null): HTMLElement {
  const state = upload
    ? upload.processing && upload.state === 'completed'
      ? upload.processing.state
      : upload.state
    : 'not uploaded';
  const label =
    upload?.processing && upload.state === 'completed' ? `processing: ${state}` : `upload: ${state}`;
  return el(
    'span',
    { class: `badge ${state}`, 'data-testid': 'upload-state' },
    upload ? label : 'not uploaded',
  );
}

function renderRecording(recording: RecordingView): HTMLElement {
  const base = `/api/recordings/${encodeURIComponent(recording.id)}`;
  const image = recording.hasThumbnail
    ? el('img', { src: `${base}/thumbnail`, alt: `Thumbnail of ${recording.title}`, loading: 'lazy' })
    : el('div', { class: 'noimage', role: 'img', 'aria-label': 'No thumbnail' });
  const play = el('button', { type: 'button' }, 'Play');
  play.addEventListener('click', () => {
    const video = $<HTMLVideoElement>('player-video');
    video.src = `${base}/video`;
    $('player-title').textContent = recording.title;
    $<HTMLDialogElement>('player').showModal();
  });
  const download = el('a', { href: `${base}/download`, download: '' }, 'Download');
  const failed = recording.upload && ['failed', 'cancelled'].includes(recording.upload.state);
  const uploadButton = el('button', { type: 'button' }, failed ? 'Retry upload' : 'Upload');
  uploadButton.hidden = recording.state !== 'ready' || (recording.upload !== null && !failed);
  uploadButton.addEventListener('click', () => void uploadRecording(recording, uploadButton));
  return el(
    'li',
    { 'data-recording-id': recording.id },
    image,
    el(
      'div',
      { class: 'body' },
      el('span', { class: 'title' }, recording.title),
      el(
        'span',
        { class: 'meta' },
        `${new Date(recording.date).toLocaleString()} · ${formatDuration(recording.durationSeconds)} · ${formatBytes(recording.sizeBytes)}`,
      ),
      recording.state === 'ready'
        ? uploadBadge(recording.upload)
        : el(
            'span',
            { class: `badge ${recording.state}`, 'data-testid': 'recording-state' },
            recording.state,
          ),
      el('div', { class: 'actions' }, play, download, uploadButton),
    ),
  );
}

async function uploadRecording(recording: RecordingView, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  try {
    if (recording.upload && ['failed', 'cancelled'].includes(recording.upload.state)) {
      await api(`/api/vultr/upload/${encodeURIComponent(recording.upload.task_id)}/retry`, {
        method: 'POST',
        body: '{}',
      });
    } else {
      await api('/api/vultr/upload', {
        method: 'POST',
        body: JSON.stringify({ recording_id: recording.id, auto_process: true }),
      });
    }
    await Promise.all([loadRecordings(), loadUploads()]);
  } catch (e) {
    button.disabled = false;
    alert(e instanceof Error ? e.message : String(e));
  }
}

// ---- Vultr ----------------------------------------------------------------------------------

function renderVultrConfig(next: StatusResponse): void {
  const facts: Array<[string, string]> = [
    ['Server', next.vultr.embedded ? `${next.vultr.url} (embedded)` : next.vultr.url],
    ['Auto upload', next.vultr.autoUpload ? 'on' : 'off'],
    ['Protocol', next.vultr.protocol],
    ['Active uploads', `${next.uploads.active} (${next.uploads.queued} queued)`],
  ];
  $('vultr-config').replaceChildren(
    ...facts.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v))),
  );
}

async function testConnection(): Promise<void> {
  const button = $<HTMLButtonElement>('vultr-test');
  const list = $('vultr-test-result');
  button.disabled = true;
  list.replaceChildren(el('li', {}, 'Testing…'));
  try {
    const result = await api<{ checks: Array<{ name: string; ok: boolean; detail: string }> }>(
      '/api/vultr/test',
    );
    list.replaceChildren(
      ...result.checks.map((c) => el('li', { class: c.ok ? 'pass' : 'fail' }, `${c.name}: ${c.detail}`)),
    );
  } catch (e) {
    list.replaceChildren(el('li', { class: 'fail' }, e instanceof Error ? e.message : String(e)));
  } finally {
    button.disabled = false;
  }
}

async function loadUploads(): Promise<void> {
  const result = await api<{ uploads: UploadView[] }>('/api/vultr/uploads?limit=10');
  uploads.clear();
  for (const u of result.uploads) uploads.set(u.task_id, u);
  renderUploads();
}

function renderUploads(): void {
  const sorted = [...uploads.values()].sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, 10);
  $('uploads-list').replaceChildren(...sorted.map(renderUpload));
  $('uploads-empty').hidden = sorted.length > 0;
}

function renderUpload(u: UploadView): HTMLElement {
  const percent = u.size > 0 ? Math.min(100, (u.bytes_sent / u.size) * 100) : 0;
  const bar = el('progress', {
    max: '100',
    value: percent.toFixed(1),
    'aria-label': `Upload progress of ${u.file_name}`,
  });
  const detail =
    u.state === 'uploading'
      ? `${percent.toFixed(0)}% · ${formatBytes(u.rate_bytes_per_second)}/s · ETA ${formatDuration(u.eta_seconds)}`
      : `${formatBytes(u.bytes_sent)} of ${formatBytes(u.size)}`;
  const actions = el('div', { class: 'actions' });
  if (['queued', 'uploading', 'retry_wait', 'validating', 'compressing'].includes(u.state)) {
    const cancel = el('button', { type: 'button' }, 'Cancel');
    cancel.addEventListener('click', () => void taskAction(u.task_id, 'cancel'));
    actions.append(cancel);
  }
  if (['failed', 'cancelled'].includes(u.state)) {
    const retry = el('button', { type: 'button' }, 'Retry');
    retry.addEventListener('click', () => void taskAction(u.task_id, 'retry'));
    actions.append(retry);
  }
  const item = el(
    'li',
    { 'data-task-id': u.task_id, 'data-state': u.state },
    el(
      'div',
      { class: 'line' },
      el('strong', {}, u.file_name),
      el('span', { class: `badge ${u.state}` }, u.state),
    ),
    bar,
    el('div', { class: 'line' }, el('span', { class: 'detail' }, detail), actions),
  );
  if (u.last_error && u.state !== 'completed') item.append(el('p', { class: 'error' }, u.last_error.message));
  if (u.processing) {
    const p = u.processing;
    item.append(
      el(
        'div',
        { class: 'line processing', 'data-processing-state': p.state },
        el(
          'span',
          {},
          `Processing: ${p.state}${p.state === 'processing' ? ` (${Math.round(p.progress * 100)}%)` : ''}`,
        ),
      ),
    );
    if (p.report) item.append(renderReport(p.report));
    if (p.error) item.append(el('p', { class: 'error' }, p.error.message));
    const base = `/api/vultr/upload/${encodeURIComponent(u.task_id)}/outputs/`;
    const names = new Set(p.outputs.map((o) => o.name));
    if (names.has('thumbnail.jpg')) {
      item.append(
        el('img', {
          class: 'processed-thumbnail',
          src: `${base}thumbnail.jpg`,
          alt: `Thumbnail made by the processing server for ${u.file_name}`,
          loading: 'lazy',
        }),
      );
    }
    const links = [
      ['web.mp4', 'Web version'],
      ['edited.mp4', 'Edited (silences cut)'],
      ['contact-sheet.jpg', 'Contact sheet'],
    ].filter(([name]) => names.has(name ?? ''));
    if (links.length > 0) {
      item.append(
        el(
          'div',
          { class: 'actions outputs' },
          ...links.map(([name, label]) =>
            el('a', { href: `${base}${name ?? ''}`, target: '_blank', rel: 'noopener' }, label ?? ''),
          ),
        ),
      );
    }
  }
  return item;
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
    await api(`/api/vultr/upload/${encodeURIComponent(taskId)}/${action}`, { method: 'POST', body: '{}' });
  } catch (e) {
    alert(e instanceof Error ? e.message : String(e));
  }
}

// ---- Live updates ---------------------------------------------------------------------------

function connectEvents(): void {
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    $('connection').textContent = status?.recorder.recording ? '● Recording' : 'Live';
  });
  source.addEventListener('error', () => {
    const connection = $('connection');
    connection.textContent = 'Reconnecting…';
    connection.className = 'badge offline';
  });
  source.addEventListener('status', (e) =>
    renderStatus(JSON.parse((e as MessageEvent<string>).data) as StatusResponse),
  );
  source.addEventListener('upload', (e) => {
    const view = JSON.parse((e as MessageEvent<string>).data) as UploadView;
    uploads.set(view.task_id, view);
    renderUploads();
  });
  source.addEventListener('recordings', () => void loadRecordings());
}

async function main(): Promise<void> {
  $('record-form').addEventListener('submit', (e) => void onRecordSubmit(e as SubmitEvent));
  $('vultr-test').addEventListener('click', () => void testConnection());
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $<HTMLInputElement>('token').value;
    api('/api/login', { method: 'POST', body: JSON.stringify({ token }) })
      .then(() => location.reload())
      .catch((err: unknown) => {
        $('login-error').textContent = err instanceof Error ? err.message : String(err);
      });
  });
  $<HTMLDialogElement>('player').addEventListener('close', () => $<HTMLVideoElement>('player-video').pause());
  try {
    renderStatus(await api<StatusResponse>('/api/status'));
    await Promise.all([loadRecordings(), loadUploads()]);
    connectEvents();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) $('record-error').textContent = String(e);
  }
}

void main();
