import type { Migration } from '../open-database.js';
import { createWebhookTables } from './webhook-tables.js';

/** Ingest v5 (notify branch; renumber on merge if another v5 landed first): the webhook delivery queue. */
export const ingestV5Webhooks: Migration = {
  version: 5,
  description: 'webhook deliveries',
  up: (db) => createWebhookTables(db),
};
