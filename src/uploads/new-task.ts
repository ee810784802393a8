import type { NewUploadTask } from '../store/index.js';
import { newTaskId } from './task-id.js';

/** What a new task is inserted with besides its file and options: queued, nothing sent, no error. */
export function newQueuedTask(
  task: Pick<
    NewUploadTask,
    | 'filePath'
    | 'fileName'
    | 'fileSize'
    | 'fileMtimeMs'
    | 'sessionName'
    | 'recordingId'
    | 'autoProcess'
    | 'targetUrl'
    | 'targetProtocol'
    | 'knownComplete'
  >,
  createdAt: string,
): NewUploadTask {
  return {
    ...task,
    id: newTaskId(),
    state: 'queued',
    attempts: 0,
    nextAttemptAt: null,
    bytesSent: 0,
    size: task.fileSize,
    sha256: null,
    protocol: null,
    remoteUrl: null,
    uploadPath: null,
    compressionRatio: null,
    lastErrorCode: null,
    lastErrorMessage: null,
    leaseOwner: null,
    createdAt,
    completedAt: null,
  };
}
