import type { Logger } from '../logging/index.js';
import type { IngestTaskStore } from '../store/index.js';
import type { AuthHook, OwnerOf } from './auth-hook.js';
import type { IngestService } from './ingest-service.js';
import type { UploadProcessor } from './upload-processor.js';

/**
 * What every ingest route plugin receives as its options: the service, the task repository
 * (look a task up with `tasks.get(taskId)`), the processor when there is one, the auth hook
 * (already applied to every route but /health; use it as a preHandler in a separate server),
 * and the logger.
 */
export interface IngestRouteContext {
  service: IngestService;
  tasks: IngestTaskStore;
  processor: UploadProcessor | undefined;
  auth: AuthHook;
  /** The owner (API key hash) a request speaks for; null without keys. See `assertOwner`. */
  ownerOf: OwnerOf;
  logger: Logger;
}
