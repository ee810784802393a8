import type { Migration } from '../open-database.js';
import { createWebhookTables } from './webhook-tables.js';

/** Ingest v3 (notify branch; renumber on merge if another v3 landed first): the webhook delivery queue. */
export const ingestV3Webhooks: Migration = {
  version: 3,
  description: 'webhook deliveries',
  up: (db) => createWebhookTables(db),
};
