/** Notifications: signed webhooks and Discord/ntfy messages through a durable SQLite queue. */
export {
  Notifier,
  webhookRetryDelayMs,
  describeTarget,
  type NotifierOptions,
  type NotifyTargets,
} from './notifier.js';
export {
  EVENT_TYPES,
  HUMAN_EVENT_TYPES,
  eventId,
  type NotifyEvent,
  type NotifyEventType,
} from './notify-event.js';
export {
  signWebhook,
  verifyWebhook,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
} from './webhook-signature.js';
export { humanMessage } from './human-message.js';
export { notifyStationEvents, type StationEventSource } from './station-events.js';
export {
  notifyIngestEvents,
  startIngestNotifier,
  type IngestEventSourceOptions,
  type IngestServiceLike,
} from './ingest-events.js';
export { webhookRoutes } from './webhook-routes.js';
export { notifyTargets } from './targets-from-config.js';
export { errorSchema, deliveriesAnswerSchema } from './webhook-schemas.js';
