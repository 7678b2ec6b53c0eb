/**
 * A V Systems wallet that signs requests the way the original market CLI does
 * (`server_api_wrapper.py`), written independently of V-Kube's verifier so the tests
 * check one against the other: the body bytes are Python's `json.dumps` (", " and ": "
 * separators, ASCII escapes), the canonical request and the string to sign follow
 * `_form_canonical_request` and `_form_string_to_sign` line by line.
 *
 * The signature is Signal's curve25519_sign as `axolotl_curve25519.calculateSignature`
 * makes it: an Ed25519 signature by the Edwards form of the Curve25519 key, with the
 * Edwards key's sign bit in the top bit of the last byte.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { blake2b } from '@noble/hashes/blake2.js';
import bs58 from 'bs58';
import sodium from 'libsodium-wrappers';
import { createHash } from 'node:crypto';

export const CLI_USER_AGENT = 'market command line v1.0';

export interface MarketWallet {
  address: string;
  /** base58 Curve25519 public key, as the CLI sends it. */
  publicKey: string;
  /** Headers and body of a signed request, as the CLI would send them. */
  sign(method: string, pathAndQuery: string, body?: Record<string, unknown>, opts?: { time?: number }): { headers: Record<string, string>; payload: string | undefined };
}

export async function marketWallet(chain: 'M' | 'T' = 'M'): Promise<MarketWallet> {
  await sodium.ready;
  const ed = sodium.crypto_sign_keypair();
  const curvePublic = sodium.crypto_sign_ed25519_pk_to_curve25519(ed.publicKey);
  const address = vsysAddress(curvePublic, chain);
  const publicKey = bs58.encode(curvePublic);
  // The CLI's XEdDSA signatures are randomised; this wallet's Ed25519 ones are not, so two
  // requests alike within a second would sign alike (and the second is a replay). Unless a
  // time is asked for, each request gets a time no other request of this wallet had.
  let lastTime = 0;
  return {
    address,
    publicKey,
    sign(method, pathAndQuery, body, opts = {}) {
      const curTime = opts.time ?? Math.max(Math.floor(Date.now() / 1000), lastTime + 1);
      if (opts.time === undefined) lastTime = curTime;
      // requests sends json.dumps(body); a GET without body sends nothing.
      const payload = method === 'GET' && !body ? undefined : pyJsonDumps(body ?? {});
      const u = new URL(`http://vkube.test${pathAndQuery}`);
      let reqString = `${method}\n${u.pathname}\n${u.search.replace(/^\?/, '').split('&').join('\n')}\nUser-Agent:${CLI_USER_AGENT}\naddress:${address}\n`;
      if (!(method === 'GET' && !body)) reqString += sha256(payload!).toString('hex');
      const hashed = sha256(reqString).toString('hex');
      const msg = sha256(`HMAC-SHA256${curTime}${hashed}`);
      const sig = Buffer.from(sodium.crypto_sign_detached(msg, ed.privateKey));
      sig[63] = sig[63]! | (ed.publicKey[31]! & 0x80);
      return {
        headers: {
          'x-sdk-time': String(curTime),
          'user-agent': CLI_USER_AGENT,
          address,
          'public-key': publicKey,
          signature: sig.toString('base64'),
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        payload,
      };
    },
  };
}

function vsysAddress(publicKey: Uint8Array, chain: 'M' | 'T'): string {
  const hashChain = (b: Uint8Array) => keccak_256(blake2b(b, { dkLen: 32 }));
  const unhashed = Uint8Array.from([5, chain.charCodeAt(0), ...hashChain(publicKey).subarray(0, 20)]);
  return bs58.encode(Uint8Array.from([...unhashed, ...hashChain(unhashed).subarray(0, 4)]));
}

/** Python's json.dumps with its defaults. */
export function pyJsonDumps(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(pyJsonDumps).join(', ')}]`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${pyJsonDumps(k)}: ${pyJsonDumps(v)}`)
    .join(', ')}}`;
}

function sha256(text: string | Uint8Array): Buffer {
  return createHash('sha256').update(text).digest();
}
