import type { Config } from '../config/index.js';
import type { NotifyTargets } from './notifier.js';

/**
 * Where a side sends its events: the station STREAMAI_WEBHOOK_URL/SECRET, the ingest server
 * INGEST_WEBHOOK_URL/SECRET; both DISCORD_WEBHOOK_URL and NTFY_URL.
 */
export function notifyTargets(config: Config, side: 'station' | 'ingest'): NotifyTargets {
  const n = config.notify;
  const station = side === 'station';
  return {
    webhookUrls: station ? n.stationWebhookUrls : n.ingestWebhookUrls,
    secret: station ? n.stationWebhookSecret : n.ingestWebhookSecret,
    discordUrl: n.discordUrl,
    ntfyUrl: n.ntfyUrl,
  };
}
