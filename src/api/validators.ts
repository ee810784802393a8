import { Ajv, type Options } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';

const common: Options = { removeAdditional: false, useDefaults: true, allErrors: false, strict: false };

/**
 * Validators for the station's routes. Query strings, params and headers are text on the wire,
 * so their schemas coerce ("10" → 10 for `limit`); JSON bodies carry their own types, and a
 * wrong one is refused naming the field (`{"sessionName":123}` → 400), never turned into "123"
 * (issue 9.14) — which one Ajv with coerceTypes for every part did.
 */
export function stationValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const strict = new Ajv({ ...common, coerceTypes: false });
  const coercing = new Ajv({ ...common, coerceTypes: 'array' });
  return ({ schema, httpPart }) =>
    (httpPart === 'body' ? strict : coercing).compile(schema as object) as ReturnType<
      FastifySchemaCompiler<unknown>
    >;
}
