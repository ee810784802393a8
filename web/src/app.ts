/**
 * The station page: renders state from the REST API and keeps it live with Server-Sent Events.
 * One module per section; each updates its own elements in place.
 */
import { ApiError, api, whenUnauthorized } from './api.js';
import type { StatusResponse, UploadView } from './api-types.js';
import { $ } from './dom.js';
import { setConnected } from './header-badge.js';
import { mountSignIn, showSignIn } from './login-section.js';
import { mountRecorder, onStatus, renderStatus } from './recorder-section.js';
import { loadRecordings, mountRecordings } from './recordings-section.js';
import { loadRetention } from './retention-section.js';
import { mountSearch } from './search-section.js';
import { loadUploads, showUpload } from './uploads-section.js';
import { mountVultr, renderVultrConfig } from './vultr-section.js';

function connectEvents(): void {
  const source = new EventSource('/api/events');
  source.addEventListener('open', () => setConnected(true));
  source.addEventListener('error', () => setConnected(false));
  source.addEventListener('status', (e) =>
    renderStatus(JSON.parse((e as MessageEvent<string>).data) as StatusResponse),
  );
  source.addEventListener('upload', (e) =>
    showUpload(JSON.parse((e as MessageEvent<string>).data) as UploadView),
  );
  source.addEventListener('recordings', () => {
    void loadRecordings();
    void loadRetention();
  });
}

async function main(): Promise<void> {
  whenUnauthorized(showSignIn);
  mountSignIn();
  mountRecorder();
  mountRecordings({ afterUpload: loadUploads });
  mountVultr();
  mountSearch();
  onStatus(renderVultrConfig);
  try {
    renderStatus(await api<StatusResponse>('/api/status'));
    await Promise.all([loadRecordings(), loadUploads(), loadRetention()]);
    connectEvents();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) $('record-error').textContent = String(e);
  }
}

void main();
