import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { localCommand, readDeployedEnv, readServiceUnit } from './deploy-files.js';
import { startIngestProcess } from './ingest-process.js';
import { startBalancer, type Balancer } from './nginx.js';
import { startPostgres, type PostgresServer } from './postgres.js';
import { freePort, type CleanupScope } from './service-process.js';
import { startSwiftS3, type SwiftS3 } from './swift-s3.js';
import { startWorker, type WorkerProcess } from './worker-process.js';

/** The API key every node of a test cluster accepts (sent as X-API-Key). */
export const CLUSTER_API_KEY = 'cluster-test-key-0123456789abcdef0123';

/** Short queue locks so that a killed worker's job is handed out again within seconds. */
const FAST_QUEUE = {
  QUEUE_LOCK_SECONDS: '5',
  QUEUE_STALLED_CHECK_SECONDS: '1',
  QUEUE_JOB_BACKOFF_SECONDS: '1',
};

export interface ClusterNode {
  /** node-a, node-b, …: also the node's PostgreSQL application_name (pg_stat_activity tells who holds what). */
  name: string;
  url: string;
  child: ChildProcess;
}

export interface Cluster {
  postgres: PostgresServer;
  swift: SwiftS3;
  bucket: string;
  /** nginx with deploy/nginx/streamai-ingest.conf in front of every node. */
  balancer: Balancer;
  nodes: ClusterNode[];
  workers: WorkerProcess[];
  /** Starts one more `streamai worker` on the shared queue, database and bucket. */
  addWorker(): Promise<WorkerProcess>;
  /** The node whose PostgreSQL session holds a tus upload lock now, if any. */
  lockHolder(): Promise<string | undefined>;
  /** Rows of the tus upload metadata cache the nodes share (streamai_tus_cache). */
  sharedCacheRows(): Promise<number>;
}

export interface ClusterOptions {
  nodes: number;
  workers: number;
  /** Where the nodes' and workers' scratch folders go. */
  dir: string;
  /** QUEUE_URL: BullMQ on the cluster's PostgreSQL (default) or on this Redis URL. */
  queueUrl?: string;
  /** Extra settings for every node and worker (LOG_LEVEL, …). */
  env?: Record<string, string>;
}

/** The same DATABASE_URL, tagged with who connects (PostgreSQL's application_name). */
function tagged(url: string, name: string): string {
  const u = new URL(url);
  u.searchParams.set('application_name', `streamai-${name}`);
  return u.toString();
}

/**
 * The deployment of docs/DEPLOY.md on loopback: a real PostgreSQL (state and queue), a real
 * Swift with its S3 API (the bucket), `nodes` real `streamai ingest` processes started with the
 * unit's command line and deploy/env/ingest.env (its <…> placeholders replaced by these
 * services), `workers` real `streamai worker` processes from deploy/env/worker.env, and nginx
 * with the shipped server block in front of the nodes. Everything stops when `scope` ends.
 */
export async function startCluster(scope: CleanupScope, options: ClusterOptions): Promise<Cluster> {
  const [postgres, swift] = await Promise.all([startPostgres(scope), startSwiftS3()]);
  scope.after(() => swift.stop());
  const bucket = await swift.createBucket();
  const services = {
    INGEST_STORAGE: 's3',
    S3_ENDPOINT: swift.endpoint,
    S3_REGION: swift.region,
    S3_BUCKET: bucket,
    S3_ACCESS_KEY_ID: swift.accessKeyId,
    S3_SECRET_ACCESS_KEY: swift.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    QUEUE_URL: options.queueUrl ?? postgres.url,
    INGEST_API_KEYS: CLUSTER_API_KEY,
    ...FAST_QUEUE,
  };
  const ingestUnit = await readServiceUnit('streamai-ingest');
  const workerUnit = await readServiceUnit('streamai-worker');
  const ingestEnv = await readDeployedEnv(ingestUnit.environmentFile);
  const workerEnv = await readDeployedEnv(workerUnit.environmentFile);
  const { args } = localCommand(ingestUnit);

  const names = Array.from({ length: options.nodes }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
  const ports = await Promise.all(names.map(() => freePort()));
  const nodes = await Promise.all(
    names.map(async (name, i): Promise<ClusterNode> => {
      const env = {
        ...ingestEnv,
        ...services,
        INGEST_HOST: '127.0.0.1',
        INGEST_PORT: String(ports[i]),
        INGEST_DATA_DIR: path.join(options.dir, name),
        DATABASE_URL: tagged(postgres.url, name),
        LOG_LEVEL: 'warn',
        ...options.env,
      };
      // args: --import tsx src/cli/main.ts ingest …, as the unit's ExecStart on this checkout.
      const started = await startIngestProcess(scope, { script: args[2] ?? '', args: args.slice(3), env });
      return { name, ...started };
    }),
  );
  const balancer = await startBalancer(
    scope,
    ports.map((p) => `127.0.0.1:${p}`),
  );

  let workerCount = 0;
  const addWorker = async (): Promise<WorkerProcess> => {
    workerCount += 1;
    const name = `worker-${workerCount}`;
    const env = {
      ...workerEnv,
      ...services,
      DATABASE_URL: tagged(postgres.url, name),
      INGEST_DATA_DIR: path.join(options.dir, name),
      ...options.env,
    };
    const worker = await startWorker(scope, env, env.INGEST_DATA_DIR);
    cluster.workers.push(worker);
    return worker;
  };

  const query = async <T extends pg.QueryResultRow>(sql: string): Promise<pg.QueryResult<T>> => {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      return await client.query<T>(sql);
    } finally {
      await client.end();
    }
  };
  const cluster: Cluster = {
    postgres,
    swift,
    bucket,
    balancer,
    nodes,
    workers: [],
    addWorker,
    lockHolder: async () => {
      const result = await query<{ application_name: string }>(
        `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'streamai-node-%'`,
      );
      return result.rows[0]?.application_name.replace(/^streamai-/, '');
    },
    sharedCacheRows: async () => {
      const result = await query<{ n: string }>(`SELECT count(*) AS n FROM streamai_tus_cache`).catch(() => ({
        rows: [{ n: '0' }],
      })); // no table yet: no upload cached yet
      return Number(result.rows[0]?.n ?? 0);
    },
  };
  await Promise.all(Array.from({ length: options.workers }, () => addWorker()));
  return cluster;
}
