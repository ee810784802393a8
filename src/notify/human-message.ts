/** Discord refuses messages over 2000 characters; a notice never needs that many. */
const MAX_LENGTH = 1900;

/** The one line Discord and ntfy receive, e.g. "StreamAI: upload of talk.mkv completed (sha256 confirmed)". */
export function humanMessage(summary: string): string {
  const line = `StreamAI: ${summary.replace(/\s+/g, ' ').trim()}`;
  return line.length > MAX_LENGTH ? `${line.slice(0, MAX_LENGTH - 1)}…` : line;
}

/** ntfy shows tags named after emoji as icons: a warning for failures, a check mark otherwise. */
export function ntfyTags(type: string): string {
  return type.endsWith('.failed') ? 'warning' : 'white_check_mark';
}
