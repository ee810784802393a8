/** The processing server section: its facts (from the status) and the connection test. */
import { api, messageOf } from './api.js';
import type { StatusResponse } from './api-types.js';
import { $, el } from './dom.js';

export function renderVultrConfig(next: StatusResponse): void {
  const facts: Array<[string, string]> = [
    ['Server', next.vultr.embedded ? `${next.vultr.url} (embedded)` : next.vultr.url],
    ['Auto upload', next.vultr.autoUpload ? 'on' : 'off'],
    ['Protocol', next.vultr.protocol],
    ['Active uploads', `${next.uploads.active} (${next.uploads.queued} queued)`],
  ];
  const key = JSON.stringify(facts);
  const list = $('vultr-config');
  if (list.dataset.key === key) return;
  list.dataset.key = key;
  list.replaceChildren(...facts.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v))));
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
    list.replaceChildren(el('li', { class: 'fail' }, messageOf(e)));
  } finally {
    button.disabled = false;
  }
}

export function mountVultr(): void {
  $('vultr-test').addEventListener('click', () => void testConnection());
}
