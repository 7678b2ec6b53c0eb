/**
 * The notification store port: e-mail contacts and their codes, signatures already
 * seen, the provider's webhooks, and the outbox with its deliveries. Kept apart from
 * `../store-port.ts` (orders) so the two grow without touching each other. Times are unix
 * seconds except where a field says milliseconds.
 */
import type { OrderRecord } from '../records.js';

/** Whose contact it is: an order (its secret) or a wallet address (a signed request). */
export type ContactOwnerKind = 'service' | 'address';

export interface ContactOwner {
  kind: ContactOwnerKind;
  /** An order id, or a V Systems address. */
  id: string;
}

export interface Contact {
  owner: ContactOwner;
  type: 'email';
  contact: string;
  createdAt: number;
}

export interface PendingCode {
  owner: ContactOwner;
  type: 'email';
  contact: string;
  codeHash: string;
  expiresAt: number;
  attempts: number;
  sentAt: number;
}

/** What an order looked like when an event was recorded (the webhook's `order`). */
export type OrderSnapshot = Pick<OrderRecord, 'id' | 'serviceID' | 'address' | 'region' | 'units' | 'serviceStatus' | 'endAt' | 'generation'>;

/** An event to record in the outbox, in the same transaction as the change it tells of. */
export interface NewOutboxEvent {
  type: string;
  orderId: string | null;
  data: Record<string, unknown>;
  /** Recorded at most once per key (events seen in the cluster, which every re-list replays). */
  dedupeKey?: string;
  /** Unix milliseconds. */
  at: number;
}

export interface OutboxEvent {
  id: string;
  type: string;
  orderId: string | null;
  order: OrderSnapshot | null;
  data: Record<string, unknown>;
  /** Unix milliseconds. */
  createdAt: number;
}

export type DeliveryChannel = 'webhook' | 'email';
export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface Delivery {
  id: string;
  eventId: string;
  channel: DeliveryChannel;
  /** A webhook id, or an e-mail address. */
  target: string;
  status: DeliveryStatus;
  attempts: number;
  /** Unix milliseconds: when the next attempt is due. */
  nextAt: number;
  lastError: string;
  /** The receiver's HTTP status of the last attempt (webhooks). */
  lastStatus: number | null;
  /** Unix milliseconds. */
  createdAt: number;
  deliveredAt: number | null;
}

export interface Webhook {
  id: string;
  url: string;
  /** Sealed with the installation key; only the delivery opens it. */
  secretSealed: string;
  /** Event types it wants; empty: all. */
  events: string[];
  createdAt: number;
}

export interface NotificationStore {
  contactOf(owner: ContactOwner): Promise<Contact | undefined>;
  /** Binds (or replaces) the owner's e-mail and drops its pending code, in one transaction. */
  bindContact(contact: Contact): Promise<void>;
  /** False when there was none. */
  deleteContact(owner: ContactOwner, type: 'email'): Promise<boolean>;
  /** E-mail addresses bound to any of these owners. */
  contactsOf(owners: ContactOwner[]): Promise<Contact[]>;

  pendingCode(owner: ContactOwner): Promise<PendingCode | undefined>;
  /** Replaces any pending code of the owner. */
  putCode(code: PendingCode): Promise<void>;
  /** Counts a wrong guess; returns the attempts now recorded (0: no code). */
  countCodeAttempt(owner: ContactOwner): Promise<number>;
  dropCode(owner: ContactOwner): Promise<void>;

  /**
   * Records a signature as used until `expiresAt`; false when it was used already (a
   * replay). Drops expired ones now and then.
   */
  useSignature(signatureHash: string, expiresAt: number, now: number): Promise<boolean>;

  insertWebhook(hook: Webhook): Promise<void>;
  listWebhooks(): Promise<Webhook[]>;
  findWebhook(id: string): Promise<Webhook | undefined>;
  /** Deletes it with its deliveries; false when there was none. */
  deleteWebhook(id: string): Promise<boolean>;

  /** Records an event on its own (no other change in the same transaction); false when its dedupe key was recorded already. */
  appendEvent(event: NewOutboxEvent): Promise<boolean>;
  undispatchedEvents(limit: number): Promise<OutboxEvent[]>;
  /** Creates the deliveries of an event and marks it dispatched, in one transaction (a repeat creates nothing twice). */
  dispatchEvent(eventId: string, deliveries: Array<Pick<Delivery, 'channel' | 'target'>>, now: number): Promise<void>;
  findEvent(id: string): Promise<OutboxEvent | undefined>;
  /** Pending deliveries due at `now` (ms), earliest first. */
  dueDeliveries(now: number, limit: number): Promise<Delivery[]>;
  /** Records an attempt's outcome. */
  updateDelivery(id: string, change: Pick<Delivery, 'status' | 'attempts' | 'nextAt' | 'lastError' | 'lastStatus' | 'deliveredAt'>): Promise<void>;
  deliveriesOfWebhook(webhookId: string, opts: { limit: number; offset: number; status?: DeliveryStatus }): Promise<{ items: Array<Delivery & { type: string }>; total: number }>;
  deliveriesOfEvent(eventId: string): Promise<Delivery[]>;
  /**
   * Deletes finished (delivered or dead) deliveries created before `before` (ms), and the
   * dispatched events of that age with no delivery left. Pending ones stay. Returns how
   * many events went.
   */
  pruneOutbox(before: number): Promise<number>;
}
