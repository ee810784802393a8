import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Locker } from '@tus/server';
import type { Config } from '../config/index.js';
import { AppError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import { notifyTargets, startIngestNotifier, webhookRoutes, type NotifyTargets } from '../notify/index.js';
import { countBytesReceived, createIngestMetrics, metricsRoutes } from '../metrics/index.js';
import { openIngestState, type IngestState } from '../store/index.js';
import { isLoopbackBind } from '../server-kit/index.js';
import { buildIngestApp } from './ingest-app.js';
import { IngestService } from './ingest-service.js';
import {
  createIngestStorage,
  storageRunHooks,
  type IngestStorage,
  type IngestStorageSettings,
} from './storage/index.js';
import type { MetadataValue } from '@tus/s3-store';
import type { TusSharing } from '../cluster/index.js';
import type { CreateProcessor, UploadProcessor } from './upload-processor.js';

/** Everything an ingest server needs; `ingestOptionsFromConfig` builds it from the configuration. */
export interface IngestServerOptions {
  host: string;
  port: number;
  dataDir: string;
  /** DATABASE_URL: the ingest state on PostgreSQL; absent: SQLite at `<dataDir>/ingest.db`. */
  databaseUrl?: string | undefined;
  apiKeys: string[];
  maxUploadBytes: number;
  diskReserveBytes: number;
  tlsCertPath?: string | undefined;
  tlsKeyPath?: string | undefined;
  tusExpirationMs: number;
  /** Browser origins allowed by CORS (`INGEST_CORS_ORIGINS`); absent or empty: none. */
  corsOrigins?: string[] | undefined;
  logger?: Logger;
  /** Processing hook, filled by the processing engineer (src/processing). Absent: uploads stay "received". */
  createProcessor?: CreateProcessor;
  /** INGEST_WEBHOOK_URL & co. (src/notify); undefined: no events sent. */
  notify?: NotifyTargets | undefined;
  /** INGEST_STORAGE and the S3_* bucket; absent: the data dir (fs). */
  storage?: IngestStorageSettings | undefined;
  /** The tus upload locker (several nodes: src/cluster's advisory locker); absent: in memory. */
  tusLocker?: Locker | undefined;
}

/**
 * The processing server's receiving side: opens its state (`<dataDir>/ingest.db`, or DATABASE_URL), serves the HTTP API of
 * DESIGN.md (health, multipart upload, tus, status, uploads), and starts the processor if any.
 */
export class IngestServer {
  private app: FastifyInstance | undefined;
  private state: IngestState | undefined;
  private processor: UploadProcessor | undefined;
  private storage: IngestStorage | undefined;
  /** DATABASE_URL: the tus lock and upload metadata every node shares (src/cluster). */
  private sharing: TusSharing<MetadataValue> | undefined;
  private service: IngestService | undefined;
  private baseUrl = '';
  private notify: ReturnType<typeof startIngestNotifier>;
  private metrics: ReturnType<typeof createIngestMetrics> | undefined;

  constructor(private readonly options: IngestServerOptions) {}

  /** Listens; resolves with the base URL, e.g. "http://127.0.0.1:39123" (https when TLS). */
  async start(): Promise<string> {
    if (this.app) return this.baseUrl;
    const { options } = this;
    const logger = options.logger ?? silentLogger();
    const dataDir = path.resolve(options.dataDir);
    try {
      const state = (this.state = await openIngestState({ databaseUrl: options.databaseUrl, dataDir }));
      // Several nodes share DATABASE_URL: tus locks and upload metadata live there too. Loaded
      // only then (src/cluster brings BullMQ's module graph with it).
      const sharing = (this.sharing = options.databaseUrl
        ? (await import('../cluster/index.js')).tusSharing<MetadataValue>({
            databaseUrl: options.databaseUrl,
          })
        : undefined);
      // Entries of uploads abandoned past their expiry (the bucket's .info still has them).
      void sharing?.prune(options.tusExpirationMs).catch(() => undefined);
      const settings: IngestStorageSettings = options.storage ?? { kind: 'fs' };
      const storage = (this.storage = await createIngestStorage(
        dataDir,
        sharing?.cache && !settings.tusCache ? { ...settings, tusCache: sharing.cache } : settings,
      ));
      const runHooks = storageRunHooks(storage, state.tasks);
      this.processor = options.createProcessor?.({ state, dataDir, logger, runHooks });
      const service = (this.service = new IngestService({
        dataDir,
        maxUploadBytes: options.maxUploadBytes,
        diskReserveBytes: options.diskReserveBytes,
        tasks: state.tasks,
        lockTask: (taskId, work) => state.lockTask(taskId, work),
        logger,
        processor: this.processor,
        storage,
      }));
      await service.prepare();
      const tls =
        options.tlsCertPath && options.tlsKeyPath
          ? { certPath: options.tlsCertPath, keyPath: options.tlsKeyPath }
          : undefined;
      this.app = await buildIngestApp({
        service,
        processor: this.processor,
        apiKeys: options.apiKeys,
        tusExpirationMs: options.tusExpirationMs,
        tusLocker: options.tusLocker ?? sharing?.locker,
        tls,
        loopbackOnly: isLoopbackBind(options.host),
        corsOrigins: options.corsOrigins ?? [],
        logger,
      });
      await this.app.register(webhookRoutes('/webhooks/deliveries', () => this.notify?.notifier));
      const webhooks = () => this.notify?.notifier.repository;
      this.metrics = createIngestMetrics({ state, dataDir, processor: this.processor, webhooks });
      countBytesReceived(this.app, this.metrics.addReceivedBytes);
      await this.app.register(metricsRoutes(() => this.metrics?.registry));
      await this.processor?.start();
      await this.app.listen({ host: options.host, port: options.port });
      const address = this.app.server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      const host = options.host.includes(':') ? `[${options.host}]` : options.host;
      this.baseUrl = `${tls ? 'https' : 'http'}://${host}:${port}`;
      logger.info({ url: this.baseUrl, dataDir }, 'ingest server listening');
      const base = (): string => this.baseUrl;
      this.notify = startIngestNotifier({
        store: state.webhooks,
        targets: options.notify,
        service,
        processor: this.processor,
        baseUrl: base,
        logger,
      });
      return this.baseUrl;
    } catch (error) {
      await this.close();
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
        throw new AppError(
          'CONFIG_INVALID',
          `INGEST_HOST/INGEST_PORT: cannot listen on ${options.host}:${options.port} (${code})`,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /** The base URL once started (empty before). */
  get url(): string {
    return this.baseUrl;
  }

  /** Stops listening (open uploads are cut; tus ones resume later), stops the processor, closes the database. */
  async close(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    if (app) {
      // Long uploads would keep close() waiting: cut idle and active connections.
      app.server.closeIdleConnections?.();
      const closing = app.close();
      app.server.closeAllConnections?.();
      await closing;
    }
    const service = this.service;
    this.service = undefined;
    await service?.close();
    await this.notify?.close();
    this.notify = undefined;
    this.metrics?.close();
    const processor = this.processor;
    this.processor = undefined;
    await processor?.close();
    // Last: a run finishing while the processor closes still stores its outputs.
    await this.storage?.close();
    this.storage = undefined;
    await this.sharing?.close();
    this.sharing = undefined;
    const state = this.state;
    this.state = undefined;
    await state?.close();
  }
}

/** Ingest server options from the typed configuration. */
export function ingestOptionsFromConfig(config: Config, logger?: Logger): IngestServerOptions {
  const { ingest } = config;
  return {
    host: ingest.host,
    port: ingest.port,
    dataDir: ingest.dataDir,
    databaseUrl: config.cluster.databaseUrl,
    apiKeys: ingest.apiKeys,
    maxUploadBytes: ingest.maxUploadBytes,
    diskReserveBytes: ingest.diskReserveBytes,
    tlsCertPath: ingest.tlsCertPath,
    tlsKeyPath: ingest.tlsKeyPath,
    tusExpirationMs: ingest.tusExpirationMs,
    notify: notifyTargets(config, 'ingest'),
    corsOrigins: ingest.corsOrigins,
    storage: { kind: config.storage.ingestStorage, s3: config.storage.s3 },
    ...(logger ? { logger } : {}),
  };
}
