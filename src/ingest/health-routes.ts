import { createRequire } from 'node:module';
import type { FastifyPluginAsync } from 'fastify';
import type { IngestRouteContext } from './ingest-route-context.js';
import { mediaTools } from '../media/index.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

/** `GET /health`: what the server can do and whether it can take uploads; never secrets or paths. */
export const healthRoutes: FastifyPluginAsync<IngestRouteContext> = async (app, ctx) => {
  app.get('/health', async (_request, reply) => {
    const { ok, freeBytes } = await ctx.service.canAcceptUploads();
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ok' : 'unavailable',
      ...(ok ? {} : { reason: 'free disk space is below the reserve' }),
      service: 'streamai-ingest',
      version,
      capabilities: {
        tus: true,
        checksum: ['sha256'],
        maxUploadBytes: ctx.service.maxUploadBytes,
        // Joins a segmented recording's parts (CONTRACTS.md); stations send parts only then.
        recordingParts: true,
      },
      disk: { freeBytes },
      ffmpeg: {
        version: mediaTools.ffmpeg.version,
        source: mediaTools.ffmpeg.source,
        ...(mediaTools.fallbackReason ? { fallback_reason: mediaTools.fallbackReason } : {}),
      },
    });
  });
};
