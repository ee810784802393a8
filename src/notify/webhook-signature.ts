import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header with `sha256=<hex>`: HMAC-SHA256, keyed by the secret, of `${timestamp}.${body}`. */
export const SIGNATURE_HEADER = 'x-streamai-signature';
/** Header with the signing time, whole seconds since the Unix epoch (e.g. "1764600000"). */
export const TIMESTAMP_HEADER = 'x-streamai-timestamp';
export const EVENT_ID_HEADER = 'x-streamai-event-id';
export const EVENT_TYPE_HEADER = 'x-streamai-event';

/**
 * The signature of one delivery attempt. The timestamp is part of what is signed, so a
 * receiver that also rejects old timestamps cannot be fed a recorded request again; each
 * retry is signed afresh with its own time (the body stays byte-identical).
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does (also used by our tests): recompute the signature from the raw body and
 * the timestamp header, compare in constant time, and refuse timestamps older (or newer) than
 * `toleranceSeconds` (default 300).
 */
export function verifyWebhook(
  secret: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  body: string,
  options: { nowSeconds?: number; toleranceSeconds?: number } = {},
): boolean {
  const { signature, timestamp } = headers;
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, Number(timestamp), body));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
