/**
 * Who a tenant request speaks for. The order's secret (or the original clients' token
 * wrapping it) opens the order as its owner; an access token the owner created opens
 * it too, until it expires or is deactivated. Both are stored only as keyed hashes and
 * compared in constant time.
 */
import bs58 from 'bs58';
import { randomBytes } from 'node:crypto';
import type { OrderStore, TokenStore } from './store-port.js';
import type { AccessToken, OrderRecord } from './records.js';
import type { Clock } from '../kernel/clock.js';
import { AuthenticationError, ForbiddenError, InputError, NotFoundError } from '../kernel/errors.js';
import { type SecretHasher, secretCandidates } from './secrets.js';

export const ACCESS_TOKEN_PREFIX = 'vkt_';
const MAX_TOKENS_PER_ORDER = 50;
export const MAX_TOKEN_HOURS = 24 * 365 * 10;
const MAX_HOURS = MAX_TOKEN_HOURS;

export interface Principal {
  order: OrderRecord;
  /** `secret`: the owner; `token`: someone the owner gave an access token. */
  via: 'secret' | 'token';
  tokenId?: string;
}

export interface AccessTokenView {
  id: string;
  name: string;
  createdAt: number;
  expiresAt: number | null;
  active: boolean;
  lastUsedAt: number | null;
}

export class Authenticator {
  /** Last-used times are written at most this often per token (they are advisory). */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly orders: OrderStore,
    private readonly tokens: TokenStore,
    private readonly hasher: SecretHasher,
    private readonly clock: Clock,
  ) {}

  async authenticate(presented: string | undefined): Promise<Principal> {
    if (!presented) throw new AuthenticationError('missing secret: send the order secret (or an access token) in the "secret" header');
    if (presented.startsWith(ACCESS_TOKEN_PREFIX)) return this.byToken(presented);
    for (const candidate of secretCandidates(presented)) {
      const hash = this.hasher.hash(candidate);
      const order = await this.orders.findOrderBySecretHash(hash);
      if (order && this.hasher.sameHash(hash, order.secretHash)) return { order, via: 'secret' };
    }
    throw new AuthenticationError('unknown secret');
  }

  private async byToken(presented: string): Promise<Principal> {
    const token = await this.tokens.findTokenByHash(this.hasher.hash(presented));
    if (!token || !this.hasher.matches(presented, token.tokenHash)) throw new AuthenticationError('unknown secret');
    if (!token.active) throw new AuthenticationError('this access token was deactivated');
    const now = this.clock.now();
    if (token.expiresAt !== null && now >= token.expiresAt) throw new AuthenticationError('this access token has expired');
    const order = await this.orders.findOrder(token.orderId);
    if (!order) throw new AuthenticationError('unknown secret');
    if ((this.touched.get(token.id) ?? 0) < now - 60) {
      this.touched.set(token.id, now);
      await this.tokens.touchToken(token.id, now);
    }
    return { order, via: 'token', tokenId: token.id };
  }

  // ---- the owner's management of its access tokens ----

  async createToken(owner: Principal, body: unknown): Promise<{ token: string; view: AccessTokenView }> {
    requireOwner(owner);
    const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
    const name = b.name === undefined || b.name === null ? '' : b.name;
    if (typeof name !== 'string' || name.length > 100) throw new InputError('must be a string of at most 100 characters', 'name');
    let expiresAt: number | null = null;
    if (b.expiresInHours !== undefined && b.expiresInHours !== null) {
      const h = b.expiresInHours;
      if (typeof h !== 'number' || !Number.isInteger(h) || h < 1 || h > MAX_HOURS) throw new InputError(`must be an integer from 1 to ${MAX_HOURS}`, 'expiresInHours');
      expiresAt = this.clock.now() + h * 3600;
    }
    if ((await this.tokens.tokensOf(owner.order.id)).length >= MAX_TOKENS_PER_ORDER) throw new InputError(`an order has at most ${MAX_TOKENS_PER_ORDER} access tokens; delete some first`, 'body');
    const token = ACCESS_TOKEN_PREFIX + bs58.encode(randomBytes(32));
    const record: AccessToken = {
      id: randomBytes(8).toString('hex'),
      orderId: owner.order.id,
      name,
      tokenHash: this.hasher.hash(token),
      createdAt: this.clock.now(),
      expiresAt,
      active: true,
      lastUsedAt: null,
    };
    await this.tokens.insertToken(record);
    return { token, view: view(record) };
  }

  async listTokens(owner: Principal): Promise<AccessTokenView[]> {
    requireOwner(owner);
    return (await this.tokens.tokensOf(owner.order.id)).map(view);
  }

  async deactivateToken(owner: Principal, id: string): Promise<void> {
    requireOwner(owner);
    if (!(await this.tokens.deactivateToken(owner.order.id, id))) throw new NotFoundError(`no access token ${id} for this order`);
  }

  async deleteToken(owner: Principal, id: string): Promise<void> {
    requireOwner(owner);
    if (!(await this.tokens.deleteToken(owner.order.id, id))) throw new NotFoundError(`no access token ${id} for this order`);
  }
}

function requireOwner(p: Principal): void {
  if (p.via !== 'secret') throw new ForbiddenError("only the order's secret can manage its access tokens");
}

function view(t: AccessToken): AccessTokenView {
  return { id: t.id, name: t.name, createdAt: t.createdAt, expiresAt: t.expiresAt, active: t.active, lastUsedAt: t.lastUsedAt };
}
