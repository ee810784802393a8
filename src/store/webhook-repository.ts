import type { Db } from './open-database.js';

/** Where one delivery (an event to one target) is: pending → delivering → delivered | failed. */
export type WebhookDeliveryState = 'pending' | 'delivering' | 'delivered' | 'failed';
export type WebhookTargetKind = 'webhook' | 'discord' | 'ntfy';

/** An event as stored: `body` is the exact JSON document receivers get. */
export interface WebhookEventRecord {
  id: string;
  type: string;
  time: string;
  body: string;
  summary: string;
}

export interface WebhookTargetRecord {
  kind: WebhookTargetKind;
  url: string;
}

/** One delivery of an event to a target, with its lease while a process sends it. */
export interface WebhookDeliveryRecord {
  id: number;
  eventId: string;
  target: WebhookTargetRecord;
  state: WebhookDeliveryState;
  attempts: number;
  nextAttemptAt: number;
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

/** One HTTP attempt of a delivery (the delivery log). */
export interface WebhookAttemptRecord {
  at: string;
  status: number | null;
  error: string | null;
  durationMs: number;
}

interface DeliveryRow {
  id: number;
  event_id: string;
  target_kind: WebhookTargetKind;
  target_url: string;
  state: WebhookDeliveryState;
  attempts: number;
  next_attempt_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
}

function toDelivery(row: DeliveryRow): WebhookDeliveryRecord {
  return {
    id: row.id,
    eventId: row.event_id,
    target: { kind: row.target_kind, url: row.target_url },
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    lastStatus: row.last_status,
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}

/** What finishing an attempt writes, in the order of both backends' UPDATE (state … id, owner). */
export function finishAttemptParams(
  id: number,
  owner: string,
  attempt: WebhookAttemptRecord,
  outcome: { state: 'delivered' | 'failed' } | { state: 'pending'; retryAt: number },
): [string, number | null, number | null, string | null, string | null, number, string] {
  return [
    outcome.state,
    outcome.state === 'pending' ? outcome.retryAt : null,
    attempt.status,
    attempt.error,
    outcome.state === 'delivered' ? attempt.at : null,
    id,
    owner,
  ];
}

/**
 * The webhook queue's SQL (tables from webhook-tables.ts). Ownership of a delivery is a lease
 * (owner + expiry, CONTRACTS.md): claimed in an IMMEDIATE transaction, and every later write
 * names the owner and the expected state and reports whether it changed exactly one row.
 */
export class WebhookRepository {
  constructor(private readonly db: Db) {}

  /**
   * Stores an event and one pending delivery per target, once: an event id seen before is
   * ignored (ids are derived from what happened, so a repeated notice is not a second event).
   * Returns false when the event was already stored.
   */
  addEvent(event: WebhookEventRecord, targets: readonly WebhookTargetRecord[], nowMs: number): boolean {
    return this.db.transaction(() => {
      const inserted = this.db
        .prepare(
          'INSERT OR IGNORE INTO webhook_events (id, type, time, body, summary) VALUES (?, ?, ?, ?, ?)',
        )
        .run(event.id, event.type, event.time, event.body, event.summary);
      if (inserted.changes !== 1) return false;
      const add = this.db.prepare(
        `INSERT OR IGNORE INTO webhook_deliveries (event_id, target_kind, target_url, state, next_attempt_at, created_at)
         VALUES (?, ?, ?, 'pending', ?, ?)`,
      );
      for (const t of targets) add.run(event.id, t.kind, t.url, nowMs, new Date(nowMs).toISOString());
      return true;
    })();
  }

  getEvent(id: string): WebhookEventRecord | undefined {
    return this.db
      .prepare('SELECT id, type, time, body, summary FROM webhook_events WHERE id = ?')
      .get(id) as WebhookEventRecord | undefined;
  }

  /**
   * Takes the next due delivery: pending and due, or delivering with an expired lease (its
   * process died). The attempt counter grows with each claim. Undefined when nothing is due.
   */
  claimNext(owner: string, nowMs: number, leaseMs: number): WebhookDeliveryRecord | undefined {
    const claim = this.db.transaction((): WebhookDeliveryRecord | undefined => {
      const row = this.db
        .prepare(
          `SELECT * FROM webhook_deliveries
           WHERE (state = 'pending' AND next_attempt_at <= ?) OR (state = 'delivering' AND lease_expires_at < ?)
           ORDER BY next_attempt_at, id LIMIT 1`,
        )
        .get(nowMs, nowMs) as DeliveryRow | undefined;
      if (!row) return undefined;
      const moved = this.db
        .prepare(
          `UPDATE webhook_deliveries SET state = 'delivering', lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1
           WHERE id = ? AND state = ? AND coalesce(lease_owner, '') = coalesce(?, '')`,
        )
        .run(owner, nowMs + leaseMs, row.id, row.state, row.lease_owner);
      if (moved.changes !== 1) return undefined;
      return toDelivery({
        ...row,
        state: 'delivering',
        lease_owner: owner,
        lease_expires_at: nowMs + leaseMs,
        attempts: row.attempts + 1,
      });
    });
    return claim.immediate();
  }

  /** Extends the lease of a delivery this owner is sending; false when it lost it. */
  renewLease(id: number, owner: string, expiresAt: number): boolean {
    return (
      this.db
        .prepare(
          `UPDATE webhook_deliveries SET lease_expires_at = ? WHERE id = ? AND state = 'delivering' AND lease_owner = ?`,
        )
        .run(expiresAt, id, owner).changes === 1
    );
  }

  /** Logs one attempt and moves the delivery on: delivered, failed, or pending again at `retryAt`. */
  finishAttempt(
    id: number,
    owner: string,
    attempt: WebhookAttemptRecord,
    outcome: { state: 'delivered' | 'failed' } | { state: 'pending'; retryAt: number },
  ): boolean {
    return this.db.transaction(() => {
      const moved = this.db
        .prepare(
          `UPDATE webhook_deliveries
           SET state = ?, next_attempt_at = coalesce(?, next_attempt_at), lease_owner = NULL, lease_expires_at = NULL,
               last_status = ?, last_error = ?, delivered_at = ?
           WHERE id = ? AND state = 'delivering' AND lease_owner = ?`,
        )
        .run(...finishAttemptParams(id, owner, attempt, outcome));
      if (moved.changes !== 1) return false;
      this.db
        .prepare(
          'INSERT INTO webhook_attempts (delivery_id, at, status, error, duration_ms) VALUES (?, ?, ?, ?, ?)',
        )
        .run(id, attempt.at, attempt.status, attempt.error, attempt.durationMs);
      return true;
    })();
  }

  /** Most recent events first, each with its deliveries and their attempts. */
  listEvents(
    limit: number,
    eventId?: string,
  ): Array<
    WebhookEventRecord & { deliveries: Array<WebhookDeliveryRecord & { log: WebhookAttemptRecord[] }> }
  > {
    const events = (
      eventId === undefined
        ? this.db
            .prepare(
              'SELECT id, type, time, body, summary FROM webhook_events ORDER BY time DESC, rowid DESC LIMIT ?',
            )
            .all(limit)
        : this.db
            .prepare('SELECT id, type, time, body, summary FROM webhook_events WHERE id = ?')
            .all(eventId)
    ) as WebhookEventRecord[];
    const deliveries = this.db.prepare('SELECT * FROM webhook_deliveries WHERE event_id = ? ORDER BY id');
    const attempts = this.db.prepare(
      'SELECT at, status, error, duration_ms AS durationMs FROM webhook_attempts WHERE delivery_id = ? ORDER BY id',
    );
    return events.map((e) => ({
      ...e,
      deliveries: (deliveries.all(e.id) as DeliveryRow[]).map((row) => ({
        ...toDelivery(row),
        log: attempts.all(row.id) as WebhookAttemptRecord[],
      })),
    }));
  }

  /** Deliveries per state (queue depth for the metrics). */
  countByState(): Record<WebhookDeliveryState, number> {
    const counts: Record<WebhookDeliveryState, number> = {
      pending: 0,
      delivering: 0,
      delivered: 0,
      failed: 0,
    };
    const rows = this.db
      .prepare('SELECT state, count(*) AS n FROM webhook_deliveries GROUP BY state')
      .all() as Array<{
      state: WebhookDeliveryState;
      n: number;
    }>;
    for (const r of rows) counts[r.state] = r.n;
    return counts;
  }

  /** The earliest next attempt among pending deliveries (ms epoch), for the worker's timer. */
  nextDueAt(): number | undefined {
    const row = this.db
      .prepare(
        `SELECT min(CASE WHEN state = 'pending' THEN next_attempt_at ELSE lease_expires_at END) AS due
         FROM webhook_deliveries WHERE state IN ('pending', 'delivering')`,
      )
      .get() as { due: number | null };
    return row.due ?? undefined;
  }

  getCursor(name: string): string | undefined {
    const row = this.db.prepare('SELECT value FROM notify_cursors WHERE name = ?').get(name) as
      { value: string } | undefined;
    return row?.value;
  }

  setCursor(name: string, value: string): void {
    this.db
      .prepare(
        'INSERT INTO notify_cursors (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      )
      .run(name, value);
  }
}
