import type { UploadTaskRecord } from '../store/index.js';
import { UploadHttpClient } from './http-client.js';
import type { UploadSettings } from './upload-types.js';

/** Where one task goes: its server's HTTP pool and the settings with its URL and protocol. */
export interface TaskTarget {
  http: UploadHttpClient;
  settings: UploadSettings;
}

/**
 * One HTTP pool per server URL. A task goes to the server it was enqueued for (recorded in
 * the task), which may not be this service's: `streamai upload` run with another
 * VULTR_API_URL shares the station's queue. The API key, CA and timeouts are this process's
 * (no secret is stored with a task).
 */
export class TargetClients {
  private readonly clients = new Map<string, UploadHttpClient>();

  constructor(private readonly settings: UploadSettings) {}

  /** The pool for this service's own server. */
  get own(): UploadHttpClient {
    return this.client(this.settings.apiUrl);
  }

  /**
   * The target of a task (this service's server for tasks from before targets were recorded,
   * and for S3 tasks, whose target is a bucket: the server is the one that processes them).
   */
  of(record: Pick<UploadTaskRecord, 'targetUrl' | 'targetProtocol'>): TaskTarget {
    const url =
      record.targetUrl === null || record.targetProtocol === 's3' ? this.settings.apiUrl : record.targetUrl;
    const protocol =
      record.targetProtocol === 'tus' ||
      record.targetProtocol === 'multipart' ||
      record.targetProtocol === 'auto'
        ? record.targetProtocol
        : this.settings.protocol;
    return { http: this.client(url), settings: { ...this.settings, apiUrl: url, protocol } };
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }

  private client(url: string): UploadHttpClient {
    let client = this.clients.get(url);
    if (!client) {
      client = new UploadHttpClient({ ...this.settings, apiUrl: url });
      this.clients.set(url, client);
    }
    return client;
  }
}
