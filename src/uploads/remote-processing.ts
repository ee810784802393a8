import { z } from 'zod';

/** The processing server's view of an upload (its GET /status/:task_id), as the station and the CLI show it. */
export interface ProcessingView {
  state: string;
  progress: number;
  report: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  /** Output files the server made (thumbnail.jpg, web.mp4, edited.mp4, …), served by the station at `/api/vultr/upload/:task_id/outputs/:name`. */
  outputs: Array<{ name: string; size: number }>;
}

const remoteStatusSchema = z.looseObject({
  state: z.string(),
  processing: z
    .looseObject({
      progress: z.number().optional(),
      report: z.record(z.string(), z.unknown()).nullable().optional(),
      error: z.looseObject({ code: z.string(), message: z.string() }).nullable().optional(),
      outputs: z.array(z.looseObject({ name: z.string(), size: z.number() })).optional(),
    })
    .nullable()
    .optional(),
});

/** Reads the processing part of the ingest server's GET /status/:task_id answer. */
export function processingFromRemote(body: unknown): ProcessingView | null {
  const parsed = remoteStatusSchema.safeParse(body);
  if (!parsed.success) return null;
  const p = parsed.data.processing;
  return {
    state: parsed.data.state,
    progress: p?.progress ?? 0,
    report: p?.report ?? null,
    error: p?.error ? { code: p.error.code, message: p.error.message } : null,
    outputs: (p?.outputs ?? []).map((o) => ({ name: o.name, size: o.size })),
  };
}
