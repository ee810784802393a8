import { z } from 'zod';
import { AppError } from '../errors/index.js';
import { errorFromAnswer, type UploadHttpClient } from './http-client.js';

const healthSchema = z.looseObject({
  status: z.string().optional(),
  service: z.string().optional(),
  version: z.string().optional(),
  capabilities: z
    .looseObject({
      tus: z.union([z.boolean(), z.looseObject({ endpoint: z.string().optional() })]).optional(),
      checksum: z.array(z.string()).optional(),
      maxUploadBytes: z.number().optional(),
      recordingParts: z.boolean().optional(),
    })
    .optional(),
});

/** What the server's `/health` says about itself. */
export interface ServerCapabilities {
  /** Where tus uploads are created, when the server advertises tus; else undefined. */
  tusEndpoint: string | undefined;
  maxUploadBytes: number | undefined;
  /**
   * The server joins a segmented recording's parts (CONTRACTS.md "Segmented recordings"):
   * `capabilities.recordingParts` in its /health. A server without it gets the joined file.
   */
  recordingParts: boolean;
  /** The parsed body, for `streamai test` and `upload-status`. */
  health: unknown;
}

/**
 * GET /health. A 503 means the server cannot take uploads now (temporary); a server without
 * /health (404, or not JSON) is an older multipart-only server.
 */
export async function probeServer(http: UploadHttpClient, signal?: AbortSignal): Promise<ServerCapabilities> {
  const answer = await http.short('GET', '/health', { what: 'health check', ...(signal ? { signal } : {}) });
  if (answer.status === 503) {
    throw new AppError(
      'SERVER_ERROR',
      'health check: the server cannot accept uploads right now (HTTP 503)',
      {
        details: { httpStatus: 503 },
      },
    );
  }
  if (answer.status >= 500 || answer.status === 429) throw errorFromAnswer(answer, 'health check');
  if (answer.status !== 200)
    return { tusEndpoint: undefined, maxUploadBytes: undefined, recordingParts: false, health: undefined };
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return { tusEndpoint: undefined, maxUploadBytes: undefined, recordingParts: false, health: undefined };
  }
  const parsed = healthSchema.safeParse(body);
  if (!parsed.success) {
    return { tusEndpoint: undefined, maxUploadBytes: undefined, recordingParts: false, health: body };
  }
  const tus = parsed.data.capabilities?.tus;
  const endpoint =
    tus === true ? '/files/' : tus && typeof tus === 'object' ? (tus.endpoint ?? '/files/') : undefined;
  return {
    tusEndpoint: endpoint,
    maxUploadBytes: parsed.data.capabilities?.maxUploadBytes,
    recordingParts: parsed.data.capabilities?.recordingParts === true,
    health: body,
  };
}

const statusSchema = z.looseObject({
  task_id: z.string().optional(),
  state: z.string().optional(),
  upload: z
    .looseObject({
      sha256: z.string().nullable().optional(),
      size: z.number().nullable().optional(),
    })
    .nullable()
    .optional(),
});

/** The server's view of a task (GET /status/:task_id), or undefined when it does not know it. */
export interface RemoteStatus {
  state: string | undefined;
  sha256: string | undefined;
  body: unknown;
}

export async function fetchRemoteStatus(
  http: UploadHttpClient,
  taskId: string,
  signal?: AbortSignal,
): Promise<RemoteStatus | undefined> {
  const answer = await http.short('GET', `/status/${encodeURIComponent(taskId)}`, {
    what: 'status',
    ...(signal ? { signal } : {}),
  });
  if (answer.status === 404) return undefined;
  if (answer.status !== 200) throw errorFromAnswer(answer, 'status');
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    throw new AppError('SERVER_ERROR', 'status: the server answered something that is not JSON');
  }
  const parsed = statusSchema.safeParse(body);
  if (!parsed.success) return { state: undefined, sha256: undefined, body };
  const sha = parsed.data.upload?.sha256;
  return { state: parsed.data.state, sha256: sha ? sha.toLowerCase() : undefined, body };
}
