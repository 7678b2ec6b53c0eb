/**
 * Orders: what the provider sells and the customer's key to it. The provider creates,
 * renews, aborts orders and rotates their secrets; a customer authenticates with the
 * secret (or the original clients' token built from it).
 */
import bs58 from 'bs58';
import type { OrderStore } from './store-port.js';
import type { OrderRecord, Page, ServiceStatus } from './records.js';
import { StaleState } from './store-port.js';
import type { Clock } from '../kernel/clock.js';
import { ConflictError, type FieldProblem, InputError, NotFoundError } from '../kernel/errors.js';
import { PORT_SPEC_RANDOM, PORT_SPEC_USER, parseResourceUnit } from './order-options.js';
import { sealSecret } from './sealed-secret.js';
import { generateOrderId, generateSecret, type SecretHasher } from './secrets.js';

export interface LifecycleKicker {
  /** Waits a bounded time for the reconcile leader to act on the order's recorded generation. */
  waitFor(orderId: string, generation: number): Promise<unknown>;
  /** Tells a local leader there is queued work, without waiting for it. */
  kick(): void;
}

export interface CreatedOrder {
  order: OrderRecord;
  secret: string;
}

export const MAX_ORDER_HOURS = 24 * 365 * 10;
const MAX_HOURS = MAX_ORDER_HOURS;
const LIVE: ServiceStatus[] = ['ServicePending', 'ServiceRunning', 'ServiceStop'];

export class OrderService {
  constructor(
    private readonly store: OrderStore,
    private readonly hasher: SecretHasher,
    private readonly clock: Clock,
    private readonly lifecycle: LifecycleKicker,
    /** Regions the cluster has now, or undefined when it cannot be read. */
    private readonly regions: () => string[] | undefined,
  ) {}

  /** What is wrong with an order body, without creating anything (the words of a refusal at the edge). */
  check(input: unknown): FieldProblem[] {
    try {
      parseNewOrder(input, this.regions());
      return [];
    } catch (err) {
      if (err instanceof InputError) return [...err.problems];
      throw err;
    }
  }

  async create(input: unknown): Promise<CreatedOrder> {
    const fields = parseNewOrder(input, this.regions());
    const secret = generateSecret();
    const now = this.clock.now();
    const order = await this.store.insertOrder({
      ...fields,
      id: generateOrderId(),
      secretHash: this.hasher.hash(secret),
      orderStatus: 'OrderFiled',
      serviceStatus: 'ServicePending',
      createdAt: now,
      updatedAt: now,
    });
    // Recorded and queued with it: the leader provisions the namespace and its isolation
    // objects now, so the first deploy is one wave. The sale does not wait for it; a deploy
    // that comes first makes them itself.
    this.lifecycle.kick();
    return { order: await this.sealForBuyer(order, secret), secret };
  }

  async get(id: string): Promise<OrderRecord> {
    const order = await this.store.findOrder(id);
    if (!order) throw new NotFoundError(`no order ${id}`);
    return order;
  }

  async list(opts: { limit: number; offset: number; status?: ServiceStatus }): Promise<Page<OrderRecord>> {
    return this.store.listOrders(opts);
  }

  /** Adds hours; a running order keeps running untouched, its expiry moves. */
  async renew(id: string, hours: unknown): Promise<OrderRecord> {
    const h = positiveInt(hours, 'duration', MAX_HOURS);
    await this.get(id);
    try {
      return await this.store.renew(id, h, this.clock.now());
    } catch (err) {
      if (err instanceof StaleState) throw new ConflictError(`order ${id} is ${err.actual}; only a live order can be renewed`);
      throw err;
    }
  }

  /** Ends the order now: the leader tears the workload down, and frees its ports once the namespace is gone. */
  async abort(id: string): Promise<OrderRecord> {
    const before = await this.get(id);
    let order: OrderRecord;
    try {
      order = await this.store.transition(id, LIVE, 'ServiceAbort', { abortedAt: this.clock.now() }, this.clock.now());
    } catch (err) {
      if (err instanceof StaleState) throw new ConflictError(`order ${id} is already ${err.actual ?? before.serviceStatus}`);
      throw err;
    }
    await this.lifecycle.waitFor(id, order.generation);
    return order;
  }

  /** A new secret; the old one stops working at once. */
  async rotateSecret(id: string): Promise<CreatedOrder> {
    await this.get(id);
    const secret = generateSecret();
    await this.store.setSecretHash(id, this.hasher.hash(secret), this.clock.now());
    return { order: await this.sealForBuyer(await this.get(id), secret), secret };
  }

  /** The order as `GET /userService/{id}` shows it (no authentication: only the buyer can open `magic`). */
  async publicView(id: string): Promise<{ id: string; serviceOptions: Record<string, string>; magic: string }> {
    const order = await this.store.findOrder(id);
    if (!order) throw new NotFoundError(`no order ${id}`);
    return { id: order.id, serviceOptions: order.serviceOptions, magic: order.magic };
  }

  private async sealForBuyer(order: OrderRecord, secret: string): Promise<OrderRecord> {
    if (!order.publicKey) return order;
    const magic = await sealSecret(order.publicKey, secret);
    await this.store.setMagic(order.id, magic);
    return { ...order, magic };
  }
}

type NewOrderFields = Pick<
  OrderRecord,
  | 'serviceID'
  | 'service'
  | 'serviceCategoryID'
  | 'provider'
  | 'address'
  | 'recipient'
  | 'amount'
  | 'amountPaid'
  | 'durationHours'
  | 'serviceOptions'
  | 'publicKey'
  | 'email'
  | 'region'
  | 'units'
>;

/** The provider's order body, validated, with defaults for what it may leave out. */
export function parseNewOrder(input: unknown, regions: string[] | undefined): NewOrderFields {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new InputError('must be a JSON object', 'body');
  const b = input as Record<string, unknown>;
  const opts = b.serviceOptions ?? {};
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) throw new InputError('must be an object', 'serviceOptions');
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts as Record<string, unknown>)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new InputError('must be a string', `serviceOptions.${k}`);
    options[k] = String(v);
  }
  const resourceUnit = options.resourceUnit ?? '1-Unit-Resource';
  const units = parseResourceUnit(resourceUnit);
  if (units === undefined || units > 1000) throw new InputError('must look like "2-Unit-Resource" (1 to 1000 units)', 'serviceOptions.resourceUnit');
  options.resourceUnit = resourceUnit;
  options.portSpecification ??= PORT_SPEC_USER;
  if (options.portSpecification !== PORT_SPEC_USER && options.portSpecification !== PORT_SPEC_RANDOM) {
    throw new InputError(`must be "${PORT_SPEC_USER}" or "${PORT_SPEC_RANDOM}"`, 'serviceOptions.portSpecification');
  }
  options.persistStorage ??= 'No';
  if (!/^(Yes|No)$/.test(options.persistStorage)) throw new InputError('must be "Yes" or "No"', 'serviceOptions.persistStorage');
  const region = options.region ?? '';
  if (region) {
    if (!regions) throw new InputError(`cannot check region "${region}" now: the cluster is unreachable`, 'serviceOptions.region');
    if (!regions.includes(region)) throw new InputError(`unknown region "${region}"; known regions: ${regions.join(', ') || 'none'}`, 'serviceOptions.region');
  }
  const publicKey = optionalString(b.publicKey, 'publicKey', 128);
  if (publicKey && !isCurve25519Key(publicKey)) throw new InputError('must be a base58 Curve25519 public key (32 bytes)', 'publicKey');
  const amount = nonNegativeNumber(b.amount, 'amount', 0);
  return {
    serviceID: optionalString(b.serviceID, 'serviceID', 128) || generateOrderId(),
    service: optionalString(b.service, 'service', 256) || 'Container Service',
    serviceCategoryID: optionalString(b.serviceCategoryID, 'serviceCategoryID', 128),
    provider: optionalString(b.provider, 'provider', 256) || 'v-kube-service',
    address: optionalString(b.address, 'address', 256),
    recipient: optionalString(b.recipient, 'recipient', 256),
    amount,
    amountPaid: nonNegativeNumber(b.amountPaid, 'amountPaid', amount),
    durationHours: positiveInt(b.duration, 'duration', MAX_HOURS),
    serviceOptions: options,
    publicKey,
    email: optionalString(b.email, 'email', 320),
    region,
    units,
  };
}

function isCurve25519Key(text: string): boolean {
  try {
    return bs58.decode(text).length === 32;
  } catch {
    return false;
  }
}

function optionalString(value: unknown, field: string, max: number): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw new InputError('must be a string', field);
  if (value.length > max) throw new InputError(`at most ${max} characters`, field);
  return value;
}

function nonNegativeNumber(value: unknown, field: string, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InputError('must be a number ≥ 0', field);
  return value;
}

function positiveInt(value: unknown, field: string, max: number): number {
  if (value === undefined || value === null) throw new InputError(`required: hours, an integer from 1 to ${max}`, field);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) throw new InputError(`must be an integer from 1 to ${max} (hours)`, field);
  return value;
}
