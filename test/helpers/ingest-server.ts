import type { TestContext } from 'node:test';
import { IngestServer, type IngestServerOptions } from '../../src/ingest/index.js';
import { tempDir } from './temp-dir.js';

/** A started ingest server on 127.0.0.1, port 0, in a temporary data directory; closed when the test ends. */
export async function startIngestServer(
  t: TestContext,
  overrides: Partial<IngestServerOptions> = {},
): Promise<{ url: string; dataDir: string; server: IngestServer }> {
  const dataDir = overrides.dataDir ?? (await tempDir(t, 'streamai-ingest-'));
  const server = new IngestServer({
    host: '127.0.0.1',
    port: 0,
    apiKeys: [],
    maxUploadBytes: 50 * 1024 ** 3,
    diskReserveBytes: 0,
    tusExpirationMs: 24 * 3600 * 1000,
    ...overrides,
    dataDir,
  });
  const url = await server.start();
  t.after(() => server.close());
  return { url, dataDir, server };
}
