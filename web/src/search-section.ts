/**
 * Search across the transcripts of every processed recording (GET /api/search). A hit seeks
 * the recording's player where the phrase is said: the one under its upload when it is on the
 * page, else the page's player dialog with the server's web copy.
 */
import { api, messageOf } from './api.js';
import type { SearchAnswer, SearchHit } from './api-types.js';
import { $, el } from './dom.js';
import { formatDuration } from './format.js';
import { seekTask } from './task-media.js';

function openHit(hit: SearchHit): void {
  if (seekTask(hit.task_id, hit.start)) {
    document
      .querySelector(`.media[data-task-id="${CSS.escape(hit.task_id)}"]`)
      ?.scrollIntoView({ block: 'center' });
    return;
  }
  const video = $<HTMLVideoElement>('player-video');
  video.src = `/api/vultr/upload/${encodeURIComponent(hit.task_id)}/outputs/web.mp4`;
  video.addEventListener('loadedmetadata', () => (video.currentTime = hit.start), { once: true });
  $('player-title').textContent = hit.session_name ?? hit.file_name;
  $<HTMLDialogElement>('player').showModal();
}

async function search(query: string): Promise<void> {
  const list = $('search-results');
  const summary = $('search-summary');
  try {
    const answer = await api<SearchAnswer>(`/api/search?q=${encodeURIComponent(query)}`);
    summary.textContent =
      answer.hits.length === 0
        ? `No line holds “${answer.query}” (${answer.indexed} transcripts searched).`
        : `${answer.hits.length} line${answer.hits.length === 1 ? '' : 's'} in ${answer.indexed} transcripts searched.`;
    list.replaceChildren(
      ...answer.hits.map((hit) => {
        const button = el(
          'button',
          { type: 'button', 'data-task-id': hit.task_id, 'data-start': String(hit.start) },
          el('strong', {}, hit.session_name ?? hit.file_name),
          ` at ${formatDuration(hit.start)}: `,
          hit.text,
        );
        button.addEventListener('click', () => openHit(hit));
        return el('li', {}, button);
      }),
    );
  } catch (e) {
    summary.textContent = messageOf(e);
    list.replaceChildren();
  }
}

export function mountSearch(): void {
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const query = $<HTMLInputElement>('search-query').value.trim();
    if (query !== '') void search(query);
  });
}
