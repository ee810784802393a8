import type pg from 'pg';
import {
  finishAttemptParams,
  type WebhookAttemptRecord,
  type WebhookDeliveryRecord,
  type WebhookDeliveryState,
  type WebhookEventRecord,
  type WebhookTargetKind,
  type WebhookTargetRecord,
} from '../webhook-repository.js';
import { numberOf } from './pg-values.js';
import { inTransaction } from '../pg-transaction.js';
import type { WebhookStore } from './types.js';

interface DeliveryRow {
  id: string;
  event_id: string;
  target_kind: WebhookTargetKind;
  target_url: string;
  state: WebhookDeliveryState;
  attempts: number;
  next_attempt_at: string;
  lease_owner: string | null;
  lease_expires_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

function toDelivery(r: DeliveryRow): WebhookDeliveryRecord {
  return {
    id: Number(r.id),
    eventId: r.event_id,
    target: { kind: r.target_kind, url: r.target_url },
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: Number(r.next_attempt_at),
    leaseOwner: r.lease_owner,
    leaseExpiresAt: numberOf(r.lease_expires_at),
    lastStatus: r.last_status,
    lastError: r.last_error,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
  };
}

type EventWithDeliveries = WebhookEventRecord & {
  deliveries: Array<WebhookDeliveryRecord & { log: WebhookAttemptRecord[] }>;
};

const EVENT_COLUMNS = 'id, type, time, body, summary';

/**
 * The webhook queue on PostgreSQL, with the states and leases WebhookRepository documents. The
 * queue is shared by every ingest node: an event id is stored once (primary key, ON CONFLICT DO
 * NOTHING), and a delivery is claimed by one node at a time (FOR UPDATE SKIP LOCKED, then leased).
 */
export class PgWebhookStore implements WebhookStore {
  constructor(private readonly pool: pg.Pool) {}

  addEvent(
    event: WebhookEventRecord,
    targets: readonly WebhookTargetRecord[],
    nowMs: number,
  ): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const inserted = await client.query(
        `INSERT INTO webhook_events (${EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
        [event.id, event.type, event.time, event.body, event.summary],
      );
      if (inserted.rowCount !== 1) return false;
      for (const t of targets) {
        await client.query(
          `INSERT INTO webhook_deliveries (event_id, target_kind, target_url, state, next_attempt_at, created_at)
           VALUES ($1, $2, $3, 'pending', $4, $5) ON CONFLICT DO NOTHING`,
          [event.id, t.kind, t.url, nowMs, new Date(nowMs).toISOString()],
        );
      }
      return true;
    });
  }

  async getEvent(id: string): Promise<WebhookEventRecord | undefined> {
    const { rows } = await this.pool.query<WebhookEventRecord>(
      `SELECT ${EVENT_COLUMNS} FROM webhook_events WHERE id = $1`,
      [id],
    );
    return rows[0];
  }

  async claimNext(owner: string, nowMs: number, leaseMs: number): Promise<WebhookDeliveryRecord | undefined> {
    const { rows } = await this.pool.query<DeliveryRow>(
      `WITH next AS (
         SELECT id FROM webhook_deliveries
         WHERE (state = 'pending' AND next_attempt_at <= $1) OR (state = 'delivering' AND lease_expires_at < $1)
         ORDER BY next_attempt_at, id
         LIMIT 1
         FOR UPDATE SKIP LOCKED
       )
       UPDATE webhook_deliveries AS d SET state = 'delivering', lease_owner = $2, lease_expires_at = $3,
         attempts = d.attempts + 1
       FROM next WHERE d.id = next.id
       RETURNING d.*`,
      [nowMs, owner, nowMs + leaseMs],
    );
    return rows[0] ? toDelivery(rows[0]) : undefined;
  }

  async renewLease(id: number, owner: string, expiresAt: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE webhook_deliveries SET lease_expires_at = $1 WHERE id = $2 AND state = 'delivering' AND lease_owner = $3`,
      [expiresAt, id, owner],
    );
    return rowCount === 1;
  }

  finishAttempt(
    id: number,
    owner: string,
    attempt: WebhookAttemptRecord,
    outcome: { state: 'delivered' | 'failed' } | { state: 'pending'; retryAt: number },
  ): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const moved = await client.query(
        `UPDATE webhook_deliveries
         SET state = $1, next_attempt_at = coalesce($2, next_attempt_at), lease_owner = NULL, lease_expires_at = NULL,
             last_status = $3, last_error = $4, delivered_at = $5
         WHERE id = $6 AND state = 'delivering' AND lease_owner = $7`,
        finishAttemptParams(id, owner, attempt, outcome),
      );
      if (moved.rowCount !== 1) return false;
      await client.query(
        'INSERT INTO webhook_attempts (delivery_id, at, status, error, duration_ms) VALUES ($1, $2, $3, $4, $5)',
        [id, attempt.at, attempt.status, attempt.error, Math.round(attempt.durationMs)],
      );
      return true;
    });
  }

  async listEvents(limit: number, eventId?: string): Promise<EventWithDeliveries[]> {
    const { rows: events } =
      eventId === undefined
        ? await this.pool.query<WebhookEventRecord>(
            `SELECT ${EVENT_COLUMNS} FROM webhook_events ORDER BY time DESC, seq DESC LIMIT $1`,
            [limit],
          )
        : await this.pool.query<WebhookEventRecord>(
            `SELECT ${EVENT_COLUMNS} FROM webhook_events WHERE id = $1`,
            [eventId],
          );
    const out: EventWithDeliveries[] = [];
    for (const e of events) {
      const { rows } = await this.pool.query<DeliveryRow>(
        'SELECT * FROM webhook_deliveries WHERE event_id = $1 ORDER BY id',
        [e.id],
      );
      const deliveries = [];
      for (const row of rows) {
        const log = await this.pool.query<WebhookAttemptRecord>(
          `SELECT at, status, error, duration_ms AS "durationMs" FROM webhook_attempts
           WHERE delivery_id = $1 ORDER BY id`,
          [row.id],
        );
        deliveries.push({ ...toDelivery(row), log: log.rows });
      }
      out.push({ ...e, deliveries });
    }
    return out;
  }

  async countByState(): Promise<Record<WebhookDeliveryState, number>> {
    const counts: Record<WebhookDeliveryState, number> = {
      pending: 0,
      delivering: 0,
      delivered: 0,
      failed: 0,
    };
    const { rows } = await this.pool.query<{ state: WebhookDeliveryState; n: string }>(
      'SELECT state, count(*) AS n FROM webhook_deliveries GROUP BY state',
    );
    for (const r of rows) counts[r.state] = Number(r.n);
    return counts;
  }

  async nextDueAt(): Promise<number | undefined> {
    const { rows } = await this.pool.query<{ due: string | null }>(
      `SELECT min(CASE WHEN state = 'pending' THEN next_attempt_at ELSE lease_expires_at END) AS due
       FROM webhook_deliveries WHERE state IN ('pending', 'delivering')`,
    );
    const due = rows[0]?.due ?? null;
    return due === null ? undefined : Number(due);
  }

  async getCursor(name: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ value: string }>(
      'SELECT value FROM notify_cursors WHERE name = $1',
      [name],
    );
    return rows[0]?.value;
  }

  async setCursor(name: string, value: string): Promise<void> {
    await this.pool.query(
      'INSERT INTO notify_cursors (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      [name, value],
    );
  }
}
