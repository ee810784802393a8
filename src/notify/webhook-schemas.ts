/** JSON schemas of the delivery-log answer: they document it (OpenAPI) and serialise it. */
const nullable = (type: 'string' | 'integer'): { type: [typeof type, 'null'] } => ({ type: [type, 'null'] });

/** The error shape, inline so that servers without a shared `ErrorResponse` schema can use it too. */
export const errorSchema = {
  type: 'object',
  properties: {
    success: { type: 'boolean' },
    error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } },
  },
} as const;

export const deliveriesAnswerSchema = {
  type: 'object',
  properties: {
    success: { type: 'boolean' },
    enabled: { type: 'boolean', description: 'false when no webhook, Discord or ntfy target is configured' },
    events: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          type: { type: 'string' },
          time: { type: 'string' },
          summary: { type: 'string' },
          deliveries: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                target: { type: 'string', description: 'kind and address, secrets left out' },
                state: { type: 'string', enum: ['pending', 'delivering', 'delivered', 'failed'] },
                attempts: { type: 'integer' },
                next_attempt_at: nullable('string'),
                last_status: nullable('integer'),
                last_error: nullable('string'),
                delivered_at: nullable('string'),
                log: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      at: { type: 'string' },
                      status: nullable('integer'),
                      error: nullable('string'),
                      duration_ms: { type: 'integer' },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;
