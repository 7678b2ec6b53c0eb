/**
 * Delivers the outbox: run by the reconcile leader only (one sender, however many
 * replicas), so a delivery is attempted by one process at a time.
 *
 * Each pass first fans new events out — one delivery per webhook that wants the type,
 * and, for the events customers are told of, one per e-mail address bound to the order
 * or to its wallet — then attempts what is due. A failure is retried with exponential
 * back-off (VKUBE_NOTIFY_RETRY_BASE_MS doubling, at most an hour) and dead-lettered after
 * VKUBE_NOTIFY_MAX_ATTEMPTS; the admin API shows every delivery. A failed delivery never
 * holds up another, nor anything of the API.
 */
import { createHmac } from 'node:crypto';
import type { Delivery, NotificationStore, OutboxEvent } from './store-port.js';
import type { CredentialBox } from '../credential-box.js';
import { isoSeconds } from '../../kernel/clock.js';
import { MAILED } from './events.js';
import type { Mailer, MailMessage, WebhookSender } from './ports.js';

export interface DispatcherOptions {
  store: NotificationStore;
  sender: WebhookSender;
  mailer: Mailer | undefined;
  credentials: CredentialBox;
  timeoutMs: number;
  retryBaseMs: number;
  maxAttempts: number;
  pollMs: number;
  /** Finished deliveries and their events older than this many days are deleted (0: never). */
  retentionDays?: number;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Unix milliseconds (tests may move it). */
  now?: () => number;
}

const MAX_BACKOFF_MS = 3_600_000;
/** How often the leader prunes the outbox. */
const PRUNE_EVERY_MS = 3_600_000;
const BATCH = 50;
/** Deliveries attempted side by side: one slow receiver does not hold the others. */
const PARALLEL = 8;

export class OutboxDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly now: () => number;
  private prunedAt = 0;

  constructor(private readonly opts: DispatcherOptions) {
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.pass().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.timer = setTimeout(tick, this.opts.pollMs);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One fan-out and one round of due deliveries; never throws (tests call it too). */
  async pass(): Promise<void> {
    try {
      await this.fanOut();
      const due = await this.opts.store.dueDeliveries(this.now(), BATCH);
      const events = new Map<string, OutboxEvent | undefined>();
      for (let i = 0; i < due.length; i += PARALLEL) await Promise.all(due.slice(i, i + PARALLEL).map((d) => this.attempt(d, events)));
      await this.prune();
    } catch (err) {
      // The database is away: the next pass tries again; nothing is lost, the outbox keeps it.
      this.opts.log.warn({ err: (err as Error).message }, 'could not work the notification outbox; retrying');
    }
  }

  /** Keeps the outbox from growing for ever: what is finished and old goes, once an hour. */
  private async prune(): Promise<void> {
    const days = this.opts.retentionDays ?? 0;
    const now = this.now();
    if (days <= 0 || now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    const pruned = await this.opts.store.pruneOutbox(now - days * 86_400_000);
    if (pruned > 0) this.opts.log.info({ pruned, retentionDays: days }, 'pruned old notification events');
  }

  private async fanOut(): Promise<void> {
    const { store, mailer } = this.opts;
    const events = await store.undispatchedEvents(BATCH);
    if (events.length === 0) return;
    const hooks = await store.listWebhooks();
    for (const event of events) {
      const targets: Array<Pick<Delivery, 'channel' | 'target'>> = hooks.filter((h) => h.events.length === 0 || h.events.includes(event.type)).map((h) => ({ channel: 'webhook', target: h.id }));
      if (mailer && MAILED.has(event.type) && event.order) {
        const contacts = await store.contactsOf([
          { kind: 'service', id: event.order.id },
          { kind: 'address', id: event.order.address },
        ]);
        for (const email of new Set(contacts.map((c) => c.contact))) targets.push({ channel: 'email', target: email });
      }
      await store.dispatchEvent(event.id, targets, this.now());
    }
  }

  private async attempt(delivery: Delivery, events: Map<string, OutboxEvent | undefined>): Promise<void> {
    const { store } = this.opts;
    if (!events.has(delivery.eventId)) events.set(delivery.eventId, await store.findEvent(delivery.eventId));
    const event = events.get(delivery.eventId);
    let status: number | null = null;
    try {
      if (!event) throw new Permanent('the event is gone');
      if (delivery.channel === 'webhook') {
        status = await this.post(delivery, event);
        if (status < 200 || status >= 300) throw new Error(`the receiver answered HTTP ${status}`);
      } else {
        if (!this.opts.mailer) throw new Permanent('no mail relay is configured (VKUBE_SMTP_URL)');
        await this.opts.mailer.send(noticeMail(delivery.target, event));
      }
      await store.updateDelivery(delivery.id, { status: 'delivered', attempts: delivery.attempts + 1, nextAt: delivery.nextAt, lastError: '', lastStatus: status, deliveredAt: this.now() });
    } catch (err) {
      const attempts = delivery.attempts + 1;
      const dead = err instanceof Permanent || attempts >= this.opts.maxAttempts;
      const backoff = Math.min(this.opts.retryBaseMs * 2 ** (attempts - 1), MAX_BACKOFF_MS);
      const message = describe(err);
      await store.updateDelivery(delivery.id, { status: dead ? 'dead' : 'pending', attempts, nextAt: dead ? delivery.nextAt : this.now() + backoff, lastError: message, lastStatus: status, deliveredAt: null });
      if (dead) this.opts.log.warn({ delivery: delivery.id, channel: delivery.channel, event: delivery.eventId, attempts, error: message }, 'notification dead-lettered: no more retries');
    }
  }

  private async post(delivery: Delivery, event: OutboxEvent): Promise<number> {
    const hook = await this.opts.store.findWebhook(delivery.target);
    if (!hook) throw new Permanent('the webhook was deleted');
    const body = JSON.stringify(webhookBody(event));
    const signature = createHmac('sha256', this.opts.credentials.open(hook.secretSealed)).update(body, 'utf8').digest('hex');
    return this.opts.sender.post({
      url: hook.url,
      body,
      timeoutMs: this.opts.timeoutMs,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'vkube-webhooks/1',
        'x-vkube-event': event.type,
        'x-vkube-delivery': delivery.id,
        'x-vkube-signature': `sha256=${signature}`,
      },
    });
  }
}

/** What a webhook receives. `id` is the event's: a receiver may see it again after a retry. */
export function webhookBody(event: OutboxEvent): { id: string; type: string; createdAt: string; order: OutboxEvent['order']; data: Record<string, unknown> } {
  return { id: event.id, type: event.type, createdAt: isoSeconds(Math.floor(event.createdAt / 1000)), order: event.order, data: event.data };
}

/** The customer's mail for an event. */
export function noticeMail(to: string, event: OutboxEvent): MailMessage {
  const service = event.order?.serviceID || event.order?.id || 'your service';
  const end = event.order?.endAt ? isoSeconds(event.order.endAt) : undefined;
  const container = typeof event.data.container === 'string' ? ` (container ${event.data.container})` : '';
  const lines: Record<string, [string, string]> = {
    'order.expiring': [`${service} expires soon`, `Your V-Kube service ${service} expires${end ? ` at ${end}` : ' soon'}. Renew it to keep it running.`],
    'order.expired': [`${service} has expired`, `Your V-Kube service ${service} has expired; its containers are stopped and removed.`],
    'order.aborted': [`${service} was aborted`, `Your V-Kube service ${service} was aborted by the provider; its containers are stopped and removed.`],
    'pod.crashloop': [`${service} is crash-looping`, `A container of your V-Kube service ${service}${container} keeps crashing and is restarted with back-off. Its previous log says why.`],
    'pod.oomkilled': [`${service} ran out of memory`, `A container of your V-Kube service ${service}${container} was killed for using more memory than its limit.`],
  };
  const [subject, text] = lines[event.type] ?? [`${service}: ${event.type}`, `Your V-Kube service ${service}: ${event.type}.`];
  return { to, subject: `V-Kube: ${subject}`, text: `${text}\n\nEvent ${event.id} at ${isoSeconds(Math.floor(event.createdAt / 1000))}.\n` };
}

/** A failure no retry can mend. */
class Permanent extends Error {}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e.cause?.code ?? e.cause?.message;
  return `${e.message ?? String(err)}${cause && !String(e.message).includes(cause) ? ` (${cause})` : ''}`.slice(0, 500);
}
