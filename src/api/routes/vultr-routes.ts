import type { FastifyPluginAsync } from 'fastify';
import { localDateTime } from '../../sessions/index.js';
import {
  ConnectionTestAnswerSchema,
  UploadAnswerSchema,
  UploadStartedAnswerSchema,
  UploadStatusAnswerSchema,
  UploadsAnswerSchema,
  VultrStatusAnswerSchema,
  type ConnectionTestAnswer,
  type Station,
} from '../../station/index.js';
import { answers, errorAnswers } from './responses.js';

const taskParams = {
  type: 'object',
  required: ['task_id'],
  properties: { task_id: { type: 'string', pattern: '^task_[A-Za-z0-9_-]{1,100}$' } },
} as const;

/** Uploads to the processing server: the original /api/vultr/* routes, plus cancel and retry. */
export const vultrRoutes =
  (station: Station): FastifyPluginAsync =>
  async (app) => {
    app.post<{ Body: { recording_id: string; auto_process: boolean } }>(
      '/api/vultr/upload',
      {
        schema: {
          summary:
            'Upload a recording, or every not yet uploaded recording of a session; answers 202 at once, the upload runs in the background',
          tags: ['vultr'],
          body: {
            type: 'object',
            required: ['recording_id'],
            properties: {
              recording_id: { type: 'string', minLength: 1, maxLength: 100 },
              // false when absent, as the original's route.
              auto_process: { type: 'boolean', default: false },
            },
          },
          response: answers(UploadStartedAnswerSchema, 202),
        },
      },
      async (request, reply) => {
        const started = await station.uploadRecordingOrSession(
          request.body.recording_id,
          request.body.auto_process,
        );
        const first = started[0]!;
        // The original's fields (file_name, file_size, upload_time, message) beside ours.
        return reply.status(202).send({
          success: true,
          task_id: first.taskId,
          task_ids: started.map((s) => s.taskId),
          file_name: first.recording.fileName,
          file_size: first.recording.sizeBytes,
          upload_time: localDateTime(new Date()),
          message:
            started.length === 1
              ? `Upload of ${first.recording.fileName ?? first.recording.id} started`
              : `Upload of ${started.length} recordings started`,
        });
      },
    );

    app.get<{ Params: { task_id: string } }>(
      '/api/vultr/upload/status/:task_id',
      {
        schema: {
          summary: 'One upload: local state, history, and the server’s processing state',
          tags: ['vultr'],
          params: taskParams,
          response: answers(UploadStatusAnswerSchema),
        },
      },
      async (request) => {
        const { upload, history } = station.uploadStatus(request.params.task_id);
        const server = (await station.remoteUploadStatus(request.params.task_id)) ?? null;
        // `status` is the original's name for the server's /status answer; `server` is ours.
        return { success: true, ...upload, history, server, status: server };
      },
    );

    app.get<{ Params: { task_id: string; name: string } }>(
      '/api/vultr/upload/:task_id/outputs/:name',
      {
        schema: {
          summary:
            'A file the processing server made (thumbnail.jpg, contact-sheet.jpg, web.mp4, edited.mp4, …)',
          tags: ['vultr'],
          params: {
            type: 'object',
            required: ['task_id', 'name'],
            properties: {
              ...taskParams.properties,
              name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$' },
            },
          },
          response: errorAnswers,
        },
      },
      async (request, reply) => {
        const output = await station.processedOutput(request.params.task_id, request.params.name);
        void reply.type(output.contentType);
        if (output.size !== undefined) void reply.header('content-length', output.size);
        return reply.send(output.body);
      },
    );

    app.post<{ Params: { task_id: string } }>(
      '/api/vultr/upload/:task_id/cancel',
      {
        schema: {
          summary: 'Cancel an unfinished upload',
          tags: ['vultr'],
          params: taskParams,
          response: answers(UploadAnswerSchema),
        },
      },
      async (request) => ({ success: true, upload: station.cancelUpload(request.params.task_id) }),
    );

    app.post<{ Params: { task_id: string } }>(
      '/api/vultr/upload/:task_id/retry',
      {
        schema: {
          summary: 'Retry a failed or cancelled upload',
          tags: ['vultr'],
          params: taskParams,
          response: answers(UploadAnswerSchema),
        },
      },
      async (request) => ({ success: true, upload: station.retryUpload(request.params.task_id) }),
    );

    app.get<{ Querystring: { limit: number } }>(
      '/api/vultr/uploads',
      {
        schema: {
          summary: 'Recent uploads, most recent first',
          tags: ['vultr'],
          querystring: {
            type: 'object',
            properties: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 10 } },
          },
          response: answers(UploadsAnswerSchema),
        },
      },
      async (request) => ({ success: true, uploads: station.listUploads(request.query.limit) }),
    );

    app.get(
      '/api/vultr/test',
      {
        schema: {
          summary: 'Check configuration, /health and the API key against the server',
          tags: ['vultr'],
          response: answers(ConnectionTestAnswerSchema),
        },
      },
      async () => connectionTest(station),
    );

    app.get(
      '/api/vultr/status',
      {
        schema: {
          summary: 'Processing server configuration (no secrets), and a live connection test',
          tags: ['vultr'],
          response: answers(VultrStatusAnswerSchema),
        },
      },
      async () => {
        const { config } = station;
        const vultr = station.vultr;
        return {
          success: true,
          ...vultr,
          endpoint: config.upload.endpoint,
          auto_upload: config.upload.autoUpload,
          protocol: config.upload.protocol,
          api_key_set: config.upload.apiKey !== undefined,
          retries: config.upload.retries,
          concurrency: config.upload.concurrency,
          max_rate_bytes_per_second: config.upload.maxRateBytesPerSecond ?? null,
          compress: config.upload.compress,
          // The original's shape, beside ours.
          config: {
            configured: true,
            api_url: vultr.url,
            upload_endpoint: config.upload.endpoint,
            auto_upload: config.upload.autoUpload,
          },
          connection: await connectionTest(station),
        };
      },
    );
  };

/** GET /api/vultr/test's answer: our checks, and the original's message and server_info. */
async function connectionTest(station: Station): Promise<ConnectionTestAnswer> {
  const checks = await station.testConnection();
  const ok = checks.every((c) => c.ok);
  const failed = checks.find((c) => !c.ok);
  return {
    success: ok,
    message: ok
      ? `Connected to the processing server at ${station.vultr.url}`
      : `Cannot use the processing server at ${station.vultr.url}: ${failed?.name ?? 'check'}: ${failed?.detail ?? 'failed'}`,
    server_info: ok ? await station.serverHealth() : null,
    checks,
  };
}
