/**
 * `magic`: how the original market hands a buyer its secret without V-Kube keeping it.
 * At order creation (and rotation) the secret is sealed to the buyer's Curve25519
 * public key (libsodium's crypto_box_seal) and only the sealed box is stored; only the
 * holder of the private key can open it. Base58 on the wire.
 */
import bs58 from 'bs58';
import sodium from 'libsodium-wrappers';

export async function sealSecret(publicKeyBase58: string, secret: string): Promise<string> {
  await sodium.ready;
  const publicKey = bs58.decode(publicKeyBase58);
  const sealed = sodium.crypto_box_seal(JSON.stringify({ Secret: secret }), publicKey);
  return bs58.encode(sealed);
}
