/**
 * Order secrets: 256 random bits, shown to the provider once, stored only as a keyed
 * hash (HMAC-SHA-256). A leaked database therefore holds nothing that opens an order,
 * and lookups stay a single indexed query. Clients of the original service may send
 * a *token* instead: base58 of `"<api host>:<secret>"`.
 */
import bs58 from 'bs58';
import { type KeyObject, createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';

export function generateSecret(): string {
  return bs58.encode(randomBytes(32));
}

export function generateOrderId(): string {
  return randomBytes(12).toString('hex');
}

export class SecretHasher {
  /** Imported once: every tenant request hashes the secret it presents. */
  private readonly key: KeyObject;

  constructor(key: Buffer) {
    if (key.length < 32) throw new Error('the secret hashing key must be at least 32 bytes');
    this.key = createSecretKey(key);
  }

  hash(secret: string): string {
    return createHmac('sha256', this.key).update(secret, 'utf8').digest('hex');
  }

  /** Constant-time comparison of a presented secret against a stored hash. */
  matches(secret: string, storedHash: string): boolean {
    return this.sameHash(this.hash(secret), storedHash);
  }

  /** Constant-time comparison of a hash just computed (`hash`) against a stored one: no second HMAC. */
  sameHash(computedHash: string, storedHash: string): boolean {
    const a = Buffer.from(computedHash, 'hex');
    const b = Buffer.from(storedHash, 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }
}

/**
 * The secret inside whatever the client sent: the secret itself, or the original
 * clients' token (base58 of `host:secret`, split at the last colon). Lazily: the token
 * is decoded only when the value was not the secret itself (a secret is base58 too, and
 * decoding it on every request cost 2 % of a status read).
 */
export function* secretCandidates(presented: string): Generator<string> {
  const value = presented.trim();
  if (!value || value.length > 512) return;
  yield value;
  let decoded: string;
  try {
    decoded = Buffer.from(bs58.decode(value)).toString('utf8');
  } catch {
    return; // not base58: only the plain secret
  }
  const colon = decoded.lastIndexOf(':');
  if (colon > 0 && colon < decoded.length - 1 && /^[\x21-\x7e]+$/.test(decoded)) yield decoded.slice(colon + 1);
}

/** The original clients' token for a secret and the API host they should call. */
export function tokenFor(host: string, secret: string): string {
  return bs58.encode(Buffer.from(`${host}:${secret}`, 'utf8'));
}
