import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { request } from 'undici';
import { silentLogger, type Logger } from '../logging/index.js';
import {
  sqliteWebhookStore,
  type Db,
  type WebhookDeliveryRecord,
  type WebhookStore,
  type WebhookTargetRecord,
} from '../store/index.js';
import { HUMAN_EVENT_TYPES, eventId, type NotifyEvent, type NotifyEventType } from './notify-event.js';
import { humanMessage, ntfyTags } from './human-message.js';
import {
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signWebhook,
} from './webhook-signature.js';

/** Where events go: signed JSON webhooks, and the optional human channels. */
export interface NotifyTargets {
  webhookUrls: string[];
  secret: string | undefined;
  discordUrl: string | undefined;
  ntfyUrl: string | undefined;
}

/** Tunables; defaults in brackets. Tests shorten the delays. */
export interface NotifierOptions {
  /** The queue's store (the ingest state's `webhooks`); or `db`, a SQLite database holding the queue's tables. */
  store?: WebhookStore;
  db?: Db;
  targets: NotifyTargets;
  logger?: Logger;
  /** First retry delay [5 s]; doubles per attempt up to `retryMaxMs` [1 h], with jitter. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Attempts before a delivery is given up as failed [16: about ten hours of trying]. */
  maxAttempts?: number;
  /** Lease on a delivery being sent [60 s]; renewed every third of it. */
  leaseMs?: number;
  /** One HTTP attempt's deadline [15 s]. */
  timeoutMs?: number;
  /** How often to look for due work besides our own wake-ups (another process's expired leases) [5 s]. */
  pollMs?: number;
  /** Deliveries in flight at once [4]. */
  concurrency?: number;
  random?: () => number;
  now?: () => number;
}

/** Answers that will not get better by retrying: the receiver says the hook is gone, or the body is too big. */
const PERMANENT_STATUSES = new Set([410, 413]);

/**
 * Retry delay after the `attempt`-th failure: exponential (base·2^(n-1), capped) with "equal
 * jitter" — half fixed, half random — so many stations do not retry a shared receiver in step.
 */
export function webhookRetryDelayMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** A target as the delivery log shows it: secrets (Discord tokens, ntfy topics, credentials) left out. */
export function describeTarget(target: WebhookTargetRecord): string {
  const url = new URL(target.url);
  if (target.kind === 'webhook') return `webhook ${url.origin}${url.pathname}`;
  return `${target.kind} ${url.origin}`;
}

/**
 * The durable notification queue: `publish()` stores the event and one delivery per target in
 * SQLite (nothing is sent from memory), and a worker sends due deliveries, retrying with
 * backoff, each under an expiring lease so a crashed process's work is taken over. A process
 * that restarts sends what it had not delivered.
 */
export class Notifier {
  private readonly repo: WebhookStore;
  private readonly logger: Logger;
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly targets: WebhookTargetRecord[];
  private readonly active = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** A pump is reading the queue; a wake-up meanwhile makes it go round once more. */
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private readonly o: Required<Omit<NotifierOptions, 'db' | 'store' | 'targets' | 'logger'>>;

  constructor(private readonly options: NotifierOptions) {
    if (options.store) this.repo = options.store;
    else if (options.db) this.repo = sqliteWebhookStore(options.db);
    else throw new Error('a Notifier needs a store or a db');
    this.logger = options.logger ?? silentLogger();
    this.o = {
      retryBaseMs: options.retryBaseMs ?? 5000,
      retryMaxMs: options.retryMaxMs ?? 3_600_000,
      maxAttempts: options.maxAttempts ?? 16,
      leaseMs: options.leaseMs ?? 60_000,
      timeoutMs: options.timeoutMs ?? 15_000,
      pollMs: options.pollMs ?? 5000,
      concurrency: options.concurrency ?? 4,
      random: options.random ?? Math.random,
      now: options.now ?? Date.now,
    };
    const t = options.targets;
    this.targets = [
      ...t.webhookUrls.map((url): WebhookTargetRecord => ({ kind: 'webhook', url })),
      ...(t.discordUrl ? [{ kind: 'discord' as const, url: t.discordUrl }] : []),
      ...(t.ntfyUrl ? [{ kind: 'ntfy' as const, url: t.ntfyUrl }] : []),
    ];
  }

  /** True when at least one target is configured (otherwise publish stores nothing). */
  get enabled(): boolean {
    return this.targets.length > 0;
  }

  /** The queue's store, for the delivery-log route and the metrics. */
  get repository(): WebhookStore {
    return this.repo;
  }

  /**
   * Queues an event once: `key` names the happening (the same key again is ignored), `summary`
   * is the human line for Discord/ntfy. Resolves with the event id once it is stored, or
   * undefined when nothing is configured.
   */
  async publish(
    type: NotifyEventType,
    key: string,
    data: Record<string, unknown>,
    summary: string,
  ): Promise<string | undefined> {
    if (!this.enabled) return undefined;
    const now = this.o.now();
    const event: NotifyEvent = { id: eventId(key), type, time: new Date(now).toISOString(), data };
    const targets = HUMAN_EVENT_TYPES.has(type)
      ? this.targets
      : this.targets.filter((t) => t.kind === 'webhook');
    const added = await this.repo.addEvent(
      { id: event.id, type, time: event.time, body: JSON.stringify(event), summary },
      targets,
      now,
    );
    if (added) {
      this.logger.debug({ eventId: event.id, type }, 'event queued');
      this.wake(0);
    }
    return event.id;
  }

  /** Starts the worker: sends what is due now (including what a previous run left), then keeps going. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.wake(0);
  }

  /** Stops taking work and waits for the attempts in flight (their leases are released by finishing). */
  async close(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pumping;
    await Promise.allSettled([...this.active]);
  }

  private wake(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), Math.max(0, delayMs));
    this.timer.unref?.();
  }

  private pump(): void {
    this.timer = undefined;
    if (!this.running) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pumpOnce().finally(() => {
      this.pumping = undefined;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.wake(0);
      }
    });
  }

  private async pumpOnce(): Promise<void> {
    try {
      while (this.running && this.active.size < this.o.concurrency) {
        const delivery = await this.repo.claimNext(this.owner, this.o.now(), this.o.leaseMs);
        if (!delivery) break;
        const run = this.deliver(delivery).finally(() => {
          this.active.delete(run);
          this.wake(0);
        });
        this.active.add(run);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'webhook queue could not be read');
    }
    if (this.active.size >= this.o.concurrency) return; // a finishing delivery wakes us
    const due = await this.repo.nextDueAt().catch(() => undefined);
    const wait = due === undefined ? this.o.pollMs : Math.min(this.o.pollMs, due - this.o.now());
    this.wake(Math.max(wait, 10));
  }

  private async deliver(delivery: WebhookDeliveryRecord): Promise<void> {
    const event = await this.repo.getEvent(delivery.eventId);
    if (!event) return;
    const renew = setInterval(() => {
      this.repo.renewLease(delivery.id, this.owner, this.o.now() + this.o.leaseMs).then(
        (held) => {
          if (!held) this.logger.warn({ deliveryId: delivery.id }, 'lost the lease on a webhook delivery');
        },
        (error: unknown) => this.logger.warn({ err: error }, 'could not renew a webhook delivery lease'),
      );
    }, this.o.leaseMs / 3);
    const startedAt = this.o.now();
    let status: number | null = null;
    let error: string | null = null;
    try {
      status = await this.send(delivery.target, event.body, event.summary, event.type, event.id);
      if (status < 200 || status > 299) error = `HTTP ${status}`;
    } catch (cause) {
      error =
        cause instanceof Error
          ? `${(cause as NodeJS.ErrnoException).code ?? cause.name}: ${cause.message}`
          : String(cause);
    } finally {
      clearInterval(renew);
    }
    const now = this.o.now();
    const attempt = { at: new Date(now).toISOString(), status, error, durationMs: now - startedAt };
    const ok = error === null;
    const giveUp =
      !ok && ((status !== null && PERMANENT_STATUSES.has(status)) || delivery.attempts >= this.o.maxAttempts);
    const outcome = ok
      ? ({ state: 'delivered' } as const)
      : giveUp
        ? ({ state: 'failed' } as const)
        : ({
            state: 'pending',
            retryAt:
              now +
              webhookRetryDelayMs(delivery.attempts, this.o.retryBaseMs, this.o.retryMaxMs, this.o.random),
          } as const);
    if (!(await this.repo.finishAttempt(delivery.id, this.owner, attempt, outcome))) {
      this.logger.warn({ deliveryId: delivery.id }, 'webhook delivery was taken over before it finished');
      return;
    }
    const where = describeTarget(delivery.target);
    if (ok) this.logger.info({ eventId: event.id, type: event.type, target: where }, 'event delivered');
    else
      this.logger.warn(
        { eventId: event.id, target: where, error, state: outcome.state },
        'event not delivered',
      );
  }

  /** One HTTP attempt; resolves with the status (the body is read and dropped). */
  private async send(
    target: WebhookTargetRecord,
    body: string,
    summary: string,
    type: string,
    id: string,
  ): Promise<number> {
    const headers: Record<string, string> = { 'user-agent': 'StreamAI-Webhooks/1' };
    let payload: string;
    if (target.kind === 'webhook') {
      payload = body;
      headers['content-type'] = 'application/json';
      headers[EVENT_ID_HEADER] = id;
      headers[EVENT_TYPE_HEADER] = type;
      const timestamp = Math.floor(this.o.now() / 1000);
      headers[TIMESTAMP_HEADER] = String(timestamp);
      const secret = this.options.targets.secret;
      if (secret) headers[SIGNATURE_HEADER] = signWebhook(secret, timestamp, body);
    } else if (target.kind === 'discord') {
      payload = JSON.stringify({ content: humanMessage(summary), allowed_mentions: { parse: [] } });
      headers['content-type'] = 'application/json';
    } else {
      payload = humanMessage(summary);
      headers['content-type'] = 'text/plain; charset=utf-8';
      headers.title = `StreamAI ${type}`;
      headers.tags = ntfyTags(type);
    }
    const answer = await request(target.url, {
      method: 'POST',
      headers,
      body: payload,
      headersTimeout: this.o.timeoutMs,
      bodyTimeout: this.o.timeoutMs,
      signal: AbortSignal.timeout(this.o.timeoutMs),
    });
    await answer.body.dump();
    return answer.statusCode;
  }
}
