/** The Recorder section: state, elapsed time, and the Start/Stop form. */
import { api, messageOf } from './api.js';
import type { StatusResponse } from './api-types.js';
import { $, setText } from './dom.js';
import { formatDuration } from './format.js';
import { setRecording } from './header-badge.js';

let status: StatusResponse | undefined;
let timerHandle: number | undefined;
const listeners: Array<(status: StatusResponse) => void> = [];

/** Other sections that show part of the status (the server facts) hear each new one. */
export function onStatus(listener: (status: StatusResponse) => void): void {
  listeners.push(listener);
}

export function renderStatus(next: StatusResponse): void {
  status = next;
  const r = next.recorder;
  setText($('recorder-kind'), r.kind === 'obs' ? 'OBS Studio' : 'ffmpeg');
  setText(
    $('recorder-connection'),
    r.connected ? 'connected' : `not connected${r.error ? ` (${r.error})` : ''}`,
  );
  setText($('recorder-state'), r.recording ? `recording “${r.session?.name ?? ''}”` : 'idle');
  const button = $<HTMLButtonElement>('record-button');
  setText(button, r.recording ? 'Stop recording' : 'Start recording');
  button.classList.toggle('recording', r.recording);
  button.disabled = !r.connected && !r.recording;
  const input = $<HTMLInputElement>('session-name');
  input.disabled = r.recording;
  if (r.recording && r.session) input.value = r.session.name;
  setRecording(r.recording);
  for (const listener of listeners) listener(next);
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
  setText($('recorder-timer'), formatDuration(elapsed));
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
      // An empty name is allowed: the station names the session recording_session_<date_time>.
      const sessionName = $<HTMLInputElement>('session-name').value.trim();
      await api('/api/recording/start', {
        method: 'POST',
        body: JSON.stringify(sessionName ? { sessionName } : {}),
      });
    }
    renderStatus(await api<StatusResponse>('/api/status'));
  } catch (e) {
    error.textContent = messageOf(e);
    button.disabled = false;
  }
}

export function mountRecorder(): void {
  $('record-form').addEventListener('submit', (e) => void onRecordSubmit(e as SubmitEvent));
}
