/**
 * The header badge: "● Live" only while recording; "Connected" when the live events flow but
 * nothing records; "Reconnecting…" when they stopped; "Sign-in needed" before a token is given.
 */
import { $, setText } from './dom.js';

let connected = false;
let recording = false;

function render(): void {
  const badge = $('connection');
  const [text, kind] = recording
    ? ['● Live', 'recording']
    : connected
      ? ['Connected', 'ok']
      : ['Reconnecting…', 'offline'];
  setText(badge, text);
  badge.className = `badge ${kind}`;
}

export function setConnected(value: boolean): void {
  connected = value;
  render();
}

export function setRecording(value: boolean): void {
  recording = value;
  render();
}

export function setSignInNeeded(): void {
  const badge = $('connection');
  setText(badge, 'Sign-in needed');
  badge.className = 'badge offline';
}
