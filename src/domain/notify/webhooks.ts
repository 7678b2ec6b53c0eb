/**
 * The provider's webhooks: where events are POSTed, signed with the webhook's secret.
 * The secret is shown never again after it is given; it is kept sealed (it must be
 * usable to sign, so it cannot be a hash).
 */
import type { Delivery, DeliveryStatus, NotificationStore, Webhook } from './store-port.js';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../kernel/clock.js';
import type { CredentialBox } from '../credential-box.js';
import { InputError, NotFoundError } from '../../kernel/errors.js';
import { EVENT_TYPES, isEventType } from './events.js';
import type { WebhookSender } from './ports.js';

export interface WebhookView {
  id: string;
  url: string;
  /** [] means every event. */
  events: string[];
  createdAt: number;
}

/** A delivery as the provider sees it: its event's type, never where it went (the webhook is the one asked about). */
export type DeliveryView = Omit<Delivery, 'channel' | 'target'> & { type: string };

const STATUSES: DeliveryStatus[] = ['pending', 'delivered', 'dead'];

export class WebhookService {
  constructor(
    private readonly store: NotificationStore,
    private readonly credentials: CredentialBox,
    private readonly sender: WebhookSender,
    private readonly clock: Clock,
  ) {}

  async create(body: unknown): Promise<WebhookView> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('the body must be a JSON object {"url","secret","events"?}');
    const b = body as { url?: unknown; secret?: unknown; events?: unknown };
    const url = await this.parseUrl(b.url);
    if (typeof b.secret !== 'string' || b.secret.length < 16 || b.secret.length > 256) throw new InputError('must be a string of 16 to 256 characters (the key of X-VKube-Signature)', 'secret');
    let events: string[] = [];
    if (b.events !== undefined) {
      if (!Array.isArray(b.events)) throw new InputError(`must be a list of event types (${EVENT_TYPES.join(', ')})`, 'events');
      b.events.forEach((e, i) => {
        if (!isEventType(e)) throw new InputError(`unknown event type ${JSON.stringify(e)}; one of ${EVENT_TYPES.join(', ')}`, `events[${i}]`);
      });
      events = [...new Set(b.events as string[])];
    }
    const hook: Webhook = { id: `whk_${randomBytes(12).toString('hex')}`, url: url.href, secretSealed: this.credentials.seal(b.secret), events, createdAt: this.clock.now() };
    await this.store.insertWebhook(hook);
    return view(hook);
  }

  async list(): Promise<WebhookView[]> {
    return (await this.store.listWebhooks()).map(view);
  }

  async delete(id: string): Promise<void> {
    if (!(await this.store.deleteWebhook(id))) throw new NotFoundError(`no webhook ${id}`);
  }

  async deliveries(id: string, q: { limit: number; offset: number; status?: string }): Promise<{ items: DeliveryView[]; total: number }> {
    if (!(await this.store.findWebhook(id))) throw new NotFoundError(`no webhook ${id}`);
    if (q.status !== undefined && !STATUSES.includes(q.status as DeliveryStatus)) throw new InputError(`must be one of ${STATUSES.join(', ')}`, 'status');
    const page = await this.store.deliveriesOfWebhook(id, { limit: q.limit, offset: q.offset, ...(q.status ? { status: q.status as DeliveryStatus } : {}) });
    return { items: page.items.map(deliveryView), total: page.total };
  }

  /** http(s) only, no credentials in it, and a host the address policy lets deliveries reach. */
  private async parseUrl(value: unknown): Promise<URL> {
    if (typeof value !== 'string' || value.length > 2048) throw new InputError('must be an http:// or https:// URL of at most 2048 characters', 'url');
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new InputError('must be an http:// or https:// URL', 'url');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(`must be an http:// or https:// URL, not ${url.protocol}`, 'url');
    if (url.username || url.password) throw new InputError('must not carry credentials; the signature authenticates the delivery', 'url');
    if (!url.hostname) throw new InputError('must name a host', 'url');
    const refusal = await this.sender.refusal(url);
    // The provider is told why: it is the provider's own network, and its own setting that allows it.
    if (refusal) throw new InputError(`${url.host} is not a public address (${refusal}); allow it in VKUBE_WEBHOOK_PRIVATE_TARGETS to deliver there`, 'url');
    return url;
  }
}

function view(h: Webhook): WebhookView {
  return { id: h.id, url: h.url, events: h.events, createdAt: h.createdAt };
}

function deliveryView(d: Delivery & { type: string }): DeliveryView {
  return {
    id: d.id,
    eventId: d.eventId,
    type: d.type,
    status: d.status,
    attempts: d.attempts,
    nextAt: d.nextAt,
    lastError: d.lastError,
    lastStatus: d.lastStatus,
    createdAt: d.createdAt,
    deliveredAt: d.deliveredAt,
  };
}
