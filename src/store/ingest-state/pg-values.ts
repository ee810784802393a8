/** Conversions between PostgreSQL's values (as node-postgres returns them) and the stores' types. */

/** A timestamptz as the ISO string the SQLite stores keep (node-postgres returns a Date). */
export function isoOf(value: Date | string): string;
export function isoOf(value: Date | string | null): string | null;
export function isoOf(value: Date | string | null): string | null {
  if (value === null) return null;
  return value instanceof Date ? value.toISOString() : new Date(value).toISOString();
}

/** A bigint column (node-postgres returns int8 as a string, to be exact) as a number. */
export function numberOf(value: string | number): number;
export function numberOf(value: string | number | null): number | null;
export function numberOf(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}
