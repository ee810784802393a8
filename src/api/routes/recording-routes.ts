import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { defaultSessionName } from '../../sessions/index.js';
import {
  HealthAnswerSchema,
  RecordingAnswerSchema,
  RecordingsAnswerSchema,
  StatusViewSchema,
  type Station,
} from '../../station/index.js';
import { answers, errorAnswers } from './responses.js';
import { attachmentDisposition } from '../content-disposition.js';

/** Recorder control and recordings: the original /api/status, /api/recording/*, /api/recordings routes. */
export const recordingRoutes =
  (station: Station): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/api/status',
      {
        schema: {
          summary: 'Recorder, upload and server state',
          tags: ['station'],
          response: answers(StatusViewSchema),
        },
      },
      async () => station.status(),
    );

    app.post<{ Body: { sessionName?: string } | undefined }>(
      '/api/recording/start',
      {
        schema: {
          summary:
            'Start recording into a session (created when new; named recording_session_<YYYYMMDD_HHMMSS> when no name is given)',
          tags: ['recording'],
          body: {
            type: 'object',
            properties: { sessionName: { type: 'string', minLength: 1, maxLength: 200 } },
          },
          response: answers(RecordingAnswerSchema),
        },
      },
      async (request) => {
        const name = request.body?.sessionName ?? defaultSessionName();
        const recording = await station.startRecording(name);
        return {
          success: true,
          message: `Recording started in session "${recording.sessionName}"`,
          recording,
        };
      },
    );

    app.post(
      '/api/recording/stop',
      {
        schema: {
          summary: 'Stop recording; answers once the file is complete',
          tags: ['recording'],
          response: answers(RecordingAnswerSchema),
        },
      },
      async () => {
        const recording = await station.stopRecording();
        return {
          success: true,
          message: `Recording stopped: ${recording.fileName ?? recording.id}`,
          recording,
        };
      },
    );

    app.get(
      '/api/health',
      {
        schema: {
          summary: 'Liveness, as the original: {status:"healthy", timestamp}',
          tags: ['station'],
          response: answers(HealthAnswerSchema),
        },
      },
      async () => ({ status: 'healthy', timestamp: new Date().toISOString() }),
    );

    app.get<{ Querystring: { limit: number } }>(
      '/api/recordings',
      {
        schema: {
          summary: 'Recordings, most recent first',
          tags: ['recording'],
          querystring: {
            type: 'object',
            properties: { limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          },
          response: answers(RecordingsAnswerSchema),
        },
      },
      async (request) => ({ success: true, recordings: station.listRecordings(request.query.limit) }),
    );

    const idParams = {
      type: 'object',
      required: ['id'],
      properties: { id: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_-]+$' } },
    } as const;

    app.get<{ Params: { id: string } }>(
      '/api/recordings/:id',
      {
        schema: {
          summary: 'One recording',
          tags: ['recording'],
          params: idParams,
          response: answers(RecordingAnswerSchema),
        },
      },
      async (request) => ({ success: true, recording: station.getRecording(request.params.id) }),
    );

    // Range requests (seeking in the browser's player) are answered by @fastify/static's send.
    app.get<{ Params: { id: string } }>(
      '/api/recordings/:id/video',
      {
        schema: {
          summary: 'The recording, streamed with HTTP Range support',
          tags: ['recording'],
          params: idParams,
          response: errorAnswers,
        },
      },
      async (request, reply) => {
        const file = station.recordingFile(request.params.id, 'video');
        const type = file.fileName.toLowerCase().endsWith('.mp4') ? 'video/mp4' : 'video/x-matroska';
        void reply.type(type);
        return reply.sendFile(path.basename(file.path), path.dirname(file.path), {
          acceptRanges: true,
          cacheControl: false,
          dotfiles: 'allow',
        });
      },
    );

    app.get<{ Params: { id: string } }>(
      '/api/recordings/:id/thumbnail',
      {
        schema: {
          summary: 'The recording’s JPEG thumbnail',
          tags: ['recording'],
          params: idParams,
          response: errorAnswers,
        },
      },
      async (request, reply) => {
        const file = station.recordingFile(request.params.id, 'thumbnail');
        void reply.type('image/jpeg');
        return reply.sendFile(path.basename(file.path), path.dirname(file.path), { dotfiles: 'allow' });
      },
    );

    app.get<{ Params: { id: string } }>(
      '/api/recordings/:id/download',
      {
        schema: {
          summary: 'The recording as an attachment',
          tags: ['recording'],
          params: idParams,
          response: errorAnswers,
        },
      },
      async (request, reply) => {
        const file = station.recordingFile(request.params.id, 'video');
        void reply.header('content-disposition', attachmentDisposition(file.fileName));
        return reply.sendFile(path.basename(file.path), path.dirname(file.path), { dotfiles: 'allow' });
      },
    );
  };
