/**
 * The local-disk section: the retention policy (RECORDINGS_RETENTION), free space, what the policy
 * will clean next and why, what it keeps and why, and what it deleted (only ever a recording the
 * server or bucket confirmed by sha256) — from GET /api/retention.
 */
import { api, messageOf } from './api.js';
import type { RetentionAnswer } from './api-types.js';
import { $, el } from './dom.js';
import { formatBytes, formatDateTime } from './format.js';

function facts(answer: RetentionAnswer): HTMLElement[] {
  const free = answer.disk.free_bytes === null ? 'unknown' : formatBytes(answer.disk.free_bytes);
  const rows: Array<[string, string]> = [
    ['Policy', answer.policy],
    ['Free space', `${free}${answer.disk.low ? ' — below the minimum, recording is refused' : ''}`],
    ['Minimum free', formatBytes(answer.min_free_bytes)],
    ['Recordings on disk', formatBytes(answer.local_bytes)],
  ];
  return rows.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v)));
}

function list(id: string, items: HTMLElement[], empty: string): void {
  const target = $(id);
  const key = items.map((i) => i.textContent).join('\n') || empty;
  if (target.dataset.key === key) return; // unchanged: nothing rebuilt
  target.dataset.key = key;
  target.replaceChildren(...(items.length > 0 ? items : [el('li', { class: 'muted' }, empty)]));
}

export function renderRetention(answer: RetentionAnswer): void {
  const dl = $('retention-facts');
  const next = facts(answer);
  const key = next.map((n) => n.textContent).join('|');
  if (dl.dataset.key !== key) {
    dl.dataset.key = key;
    dl.replaceChildren(...next);
  }
  list(
    'retention-next',
    answer.next.map((n) =>
      el(
        'li',
        {},
        `${n.session_name} / ${n.file_name} (${formatBytes(n.size)}) — ${n.reason}`,
        n.due_at ? `, from ${formatDateTime(n.due_at)}` : '',
      ),
    ),
    answer.policy === 'keep' ? 'Nothing: the policy keeps every recording.' : 'Nothing to clean yet.',
  );
  // A deleted recording is listed once, under Deleted (it has no local file left to keep).
  const gone = new Set(answer.deleted.map((d) => d.recording_id));
  list(
    'retention-kept',
    answer.kept
      .filter((k) => !gone.has(k.recording_id))
      .map((k) => el('li', {}, `${k.file_name} — kept: ${k.why}`)),
    'No recording is held back.',
  );
  list(
    'retention-deleted',
    [
      ...answer.deleted.map((d) =>
        el(
          'li',
          {},
          `${d.file_name} (${formatBytes(d.size)}) deleted ${formatDateTime(d.deleted_at)} — ${d.reason}`,
        ),
      ),
      ...answer.stopped_for_low_disk.map((s) =>
        el('li', { class: 'fail' }, `${formatDateTime(s.at)}: ${s.message}`),
      ),
    ],
    'Nothing deleted.',
  );
}

/** Loads the retention view; a failure shows in the section instead of breaking the page. */
export async function loadRetention(): Promise<void> {
  try {
    renderRetention(await api<RetentionAnswer>('/api/retention'));
    $('retention-error').textContent = '';
  } catch (e) {
    $('retention-error').textContent = messageOf(e);
  }
}
