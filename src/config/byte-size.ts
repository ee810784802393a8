/** Parses human byte sizes ("512", "10MB", "1.5GiB", "5MB/s") into a whole number of bytes. */
const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1000,
  kb: 1000,
  m: 1000 ** 2,
  mb: 1000 ** 2,
  g: 1000 ** 3,
  gb: 1000 ** 3,
  t: 1000 ** 4,
  tb: 1000 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*(?:\/\s*s)?\s*$/.exec(text);
  if (!match) return undefined;
  const multiplier = UNITS[(match[2] ?? '').toLowerCase()];
  if (multiplier === undefined) return undefined;
  const value = Math.floor(Number(match[1]) * multiplier);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Formats bytes for people: 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
