/** The Recordings section: one card per recording, keyed by id and replaced only when it changed. */
import { api, messageOf } from './api.js';
import type { RecordingView, UploadView } from './api-types.js';
import { $, el, placeInOrder } from './dom.js';
import { formatBytes, formatDateTime, formatDuration } from './format.js';

const cards = new Map<string, { key: string; node: HTMLElement }>();
let afterUpload: () => Promise<void> = async () => undefined;

export function mountRecordings(options: { afterUpload: () => Promise<void> }): void {
  afterUpload = options.afterUpload;
  $<HTMLDialogElement>('player').addEventListener('close', () => $<HTMLVideoElement>('player-video').pause());
}

export async function loadRecordings(): Promise<void> {
  const { recordings } = await api<{ recordings: RecordingView[] }>('/api/recordings');
  const nodes = recordings.map((recording) => {
    const key = JSON.stringify(recording);
    const known = cards.get(recording.id);
    if (known?.key === key) return known.node;
    const node = renderRecording(recording);
    known?.node.replaceWith(node);
    cards.set(recording.id, { key, node });
    return node;
  });
  const ids = new Set(recordings.map((r) => r.id));
  for (const id of cards.keys()) if (!ids.has(id)) cards.delete(id);
  placeInOrder($('recordings-list'), nodes);
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
  const actions = el('div', { class: 'actions' });
  // Play and Download only for a finished file: while recording (or finalising) there is no
  // complete file to play, and the link would show the API's error as raw JSON.
  if (recording.state === 'ready' && recording.fileName) {
    const play = el('button', { type: 'button' }, 'Play');
    play.addEventListener('click', () => {
      $<HTMLVideoElement>('player-video').src = `${base}/video`;
      $('player-title').textContent = recording.title;
      $<HTMLDialogElement>('player').showModal();
    });
    actions.append(play, el('a', { href: `${base}/download`, download: '' }, 'Download'));
    const failed = recording.upload !== null && ['failed', 'cancelled'].includes(recording.upload.state);
    if (recording.upload === null || failed) {
      const upload = el('button', { type: 'button' }, failed ? 'Retry upload' : 'Upload');
      upload.addEventListener('click', () => void uploadRecording(recording, upload));
      actions.append(upload);
    }
  }
  return el(
    'li',
    { 'data-recording-id': recording.id, 'data-state': recording.state },
    image,
    el(
      'div',
      { class: 'body' },
      el('span', { class: 'title' }, recording.title),
      el(
        'span',
        { class: 'meta' },
        `${formatDateTime(recording.date)} · ${formatDuration(recording.durationSeconds)} · ${formatBytes(recording.sizeBytes)}`,
      ),
      recording.state === 'ready'
        ? uploadBadge(recording.upload)
        : el(
            'span',
            { class: `badge ${recording.state}`, 'data-testid': 'recording-state' },
            recording.state,
          ),
      actions,
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
    await Promise.all([loadRecordings(), afterUpload()]);
  } catch (e) {
    button.disabled = false;
    alert(messageOf(e));
  }
}
