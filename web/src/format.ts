/**
 * How the page writes sizes, durations and times. Sizes use the CLI's own formatter (binary
 * units: KiB, MiB, GiB), compiled from src/config/byte-size.ts, so page and CLI agree; times are
 * 24-hour, in the browser's time zone.
 */
import { formatBytes as formatSize } from '../../src/config/byte-size.js';

export function formatBytes(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? '—' : formatSize(bytes);
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  const hh = String(Math.floor(s / 3600)).padStart(2, '0');
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return `${hh}:${mm}:${ss}`;
}

/** `2026-12-01 15:04` (24-hour, local time): never "3:04 PM". */
export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}`;
}
