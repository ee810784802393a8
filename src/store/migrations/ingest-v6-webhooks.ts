import type { Migration } from '../open-database.js';
import { createWebhookTables } from './webhook-tables.js';

/** Ingest v6: the webhook delivery queue. */
export const ingestV6Webhooks: Migration = {
  version: 6,
  description: 'webhook deliveries',
  up: (db) => createWebhookTables(db),
};
