/**
 * Requests signed by a V Systems wallet, as the original market CLI signs them
 * (`server_api_wrapper.py`):
 *
 *   canonical = METHOD \n path-from-/api/v1 \n query parts joined by \n \n
 *               "User-Agent:" ua \n "address:" address \n [hex sha256(body)]
 *   message   = sha256("HMAC-SHA256" + x-sdk-time + hex sha256(canonical))   (32 bytes)
 *   signature = base64 XEdDSA (Curve25519, Signal's curve25519_sign) of message
 *
 * The body hash is left out only for a GET without a body; every other request hashes the
 * bytes it sent (the CLI's `json.dumps`, which `requests` sends as is, `{}` when empty).
 * The hash is over the raw bytes received: re-serialising would change spacing.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { blake2b } from '@noble/hashes/blake2.js';
import bs58 from 'bs58';
import { createHash, createPublicKey, verify } from 'node:crypto';

export interface SignedRequest {
  method: string;
  /** The request target as received: path and query string. */
  url: string;
  /** The raw body, undefined when there was none. */
  rawBody: string | undefined;
  address: string | undefined;
  publicKey: string | undefined;
  signature: string | undefined;
  time: string | undefined;
  userAgent: string | undefined;
}

/** Why a signed request is refused: `field` names the header at fault. */
export class SignatureRefused extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'SignatureRefused';
  }
}

export interface VerifiedWallet {
  address: string;
  /** sha256 of the signature bytes: the key that refuses a replay. */
  signatureHash: string;
  /** The signed time, unix seconds. */
  time: number;
}

/** hex sha256 of the canonical request, exactly as the CLI's `_form_canonical_request` builds it. */
export function canonicalRequestHash(req: Pick<SignedRequest, 'method' | 'url' | 'rawBody'>, userAgent: string, address: string): string {
  const method = req.method.toUpperCase();
  const q = req.url.indexOf('?');
  let path = q === -1 ? req.url : req.url.slice(0, q);
  const query = q === -1 ? '' : req.url.slice(q + 1);
  const at = path.indexOf('/api/v1');
  if (!path.startsWith('/api/v1') && at !== -1) path = path.slice(at);
  let text = `${method}\n${path}\n${query.split('&').join('\n')}\nUser-Agent:${userAgent}\naddress:${address}\n`;
  const body = req.rawBody !== undefined && req.rawBody !== '' ? req.rawBody : undefined;
  if (!(method === 'GET' && body === undefined)) text += sha256Hex(body ?? '{}');
  return sha256Hex(text);
}

/** The 32 bytes the wallet signs. */
export function messageToSign(time: string, canonicalHash: string): Buffer {
  return createHash('sha256').update(`HMAC-SHA256${time}${canonicalHash}`, 'utf8').digest();
}

/**
 * Checks the headers, the address against the public key, the time window and the
 * signature. Replays are the caller's to refuse (it keeps the signatures seen).
 */
export function verifyWalletRequest(req: SignedRequest, nowSeconds: number, windowSeconds: number): VerifiedWallet {
  const address = required(req.address, 'address');
  const publicKeyText = required(req.publicKey, 'public-key');
  const signatureText = required(req.signature, 'signature');
  const timeText = required(req.time, 'x-sdk-time');
  const userAgent = req.userAgent ?? '';

  if (!/^\d{1,12}$/.test(timeText)) throw new SignatureRefused('x-sdk-time', 'must be unix seconds');
  const time = Number(timeText);
  if (Math.abs(nowSeconds - time) > windowSeconds) throw new SignatureRefused('x-sdk-time', `more than ${windowSeconds} s from the server's clock; check the clock and sign again`);

  const publicKey = decodeBase58(publicKeyText);
  if (publicKey?.length !== 32) throw new SignatureRefused('public-key', 'must be a base58 Curve25519 public key (32 bytes)');
  if (!isAddressOf(address, publicKey)) throw new SignatureRefused('address', 'is not the V Systems address of public-key');

  const signature = /^[A-Za-z0-9+/]+={0,2}$/.test(signatureText) ? Buffer.from(signatureText, 'base64') : undefined;
  if (signature?.length !== 64) throw new SignatureRefused('signature', 'must be a base64 signature of 64 bytes');
  const message = messageToSign(timeText, canonicalRequestHash(req, userAgent, address));
  if (!verifyXeddsa(publicKey, message, signature)) throw new SignatureRefused('signature', 'does not verify for this request and public-key');
  return { address, signatureHash: createHash('sha256').update(signature).digest('hex'), time };
}

// --- V Systems addresses -----------------------------------------------------------

const ADDRESS_VERSION = 5;
/** Mainnet 'M' and testnet 'T'. */
const CHAINS = new Set(['M'.charCodeAt(0), 'T'.charCodeAt(0)]);

/** keccak256(blake2b-256(x)): V Systems' (and Waves') hash chain. */
function hashChain(bytes: Uint8Array): Uint8Array {
  return keccak_256(blake2b(bytes, { dkLen: 32 }));
}

/** The V Systems address of a public key on a chain ('M' or 'T'). */
export function vsysAddress(publicKey: Uint8Array, chain: 'M' | 'T'): string {
  const raw = new Uint8Array(22);
  raw[0] = ADDRESS_VERSION;
  raw[1] = chain.charCodeAt(0);
  raw.set(hashChain(publicKey).subarray(0, 20), 2);
  const out = new Uint8Array(26);
  out.set(raw);
  out.set(hashChain(raw).subarray(0, 4), 22);
  return bs58.encode(out);
}

/** Whether `address` is a well-formed V Systems address (version, chain, checksum) of `publicKey`. */
export function isAddressOf(address: string, publicKey: Uint8Array): boolean {
  const bytes = decodeBase58(address);
  if (bytes?.length !== 26 || bytes[0] !== ADDRESS_VERSION || !CHAINS.has(bytes[1]!)) return false;
  return vsysAddress(publicKey, String.fromCharCode(bytes[1]!) as 'M' | 'T') === address;
}

/** Whether `address` looks like a V Systems address at all (version, chain and checksum). */
export function isVsysAddress(address: string): boolean {
  const bytes = decodeBase58(address);
  if (bytes?.length !== 26 || bytes[0] !== ADDRESS_VERSION || !CHAINS.has(bytes[1]!)) return false;
  const check = hashChain(bytes.subarray(0, 22)).subarray(0, 4);
  return check.every((b, i) => b === bytes[22 + i]);
}

// --- XEdDSA verification -------------------------------------------------------------

const P = 2n ** 255n - 19n;
/** DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 key bytes follow. */
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

/**
 * Signal's curve25519_verify: the Montgomery u of the Curve25519 key becomes the Edwards
 * y = (u - 1) / (u + 1); the sign of x travels in the top bit of the signature's last
 * byte (0 for XEdDSA proper); then an ordinary Ed25519 verification.
 */
export function verifyXeddsa(curvePublicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const u = fromLittleEndian(curvePublicKey) & ((1n << 255n) - 1n);
  if (u >= P || (u + 1n) % P === 0n) return false;
  const y = mod((u - 1n) * invert(u + 1n));
  const edKey = toLittleEndian(y);
  edKey[31] = (edKey[31]! & 0x7f) | (signature[63]! & 0x80);
  const sig = Buffer.from(signature);
  sig[63] = sig[63]! & 0x7f;
  try {
    const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI, edKey]), format: 'der', type: 'spki' });
    return verify(null, message, key, sig);
  } catch {
    // Not a point on the curve, or a signature OpenSSL cannot parse.
    return false;
  }
}

function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

function invert(a: bigint): bigint {
  // Fermat: a^(p-2) mod p.
  let result = 1n;
  let base = mod(a);
  let e = P - 2n;
  while (e > 0n) {
    if (e & 1n) result = (result * base) % P;
    base = (base * base) % P;
    e >>= 1n;
  }
  return result;
}

function fromLittleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

function toLittleEndian(n: bigint): Buffer {
  const out = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function decodeBase58(text: string): Uint8Array | undefined {
  try {
    return bs58.decode(text);
  } catch {
    return undefined;
  }
}

function required(value: string | undefined, header: string): string {
  if (!value) throw new SignatureRefused(header, 'required (the request must be signed by the wallet)');
  return value;
}
