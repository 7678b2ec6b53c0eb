/**
 * Delivers webhooks over HTTP(S), held to the same address policy as image checks
 * (`registry/address-policy.ts`): a provider's webhook URL must not become a way to
 * reach V-Kube's own network — loopback, private, link-local (cloud metadata), the
 * cluster's nodes and API server — unless VKUBE_WEBHOOK_PRIVATE_TARGETS allows it.
 * Names are resolved once per connection and the connection goes to the very
 * addresses judged (guarded-transport.ts); redirects are not followed.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { WebhookPost, WebhookSender } from '../domain/notify/ports.js';
import { AddressPolicy, portOf } from '../registry/address-policy.js';
import { guardedTransport, type Transport } from '../registry/guarded-transport.js';

export interface HttpWebhookSenderOptions {
  privateTargets: readonly string[];
  clusterAddresses?: () => Iterable<string>;
}

export class HttpWebhookSender implements WebhookSender {
  private readonly policy: AddressPolicy;
  private readonly transport: Transport;

  constructor(opts: HttpWebhookSenderOptions) {
    this.policy = new AddressPolicy({ allow: opts.privateTargets, ...(opts.clusterAddresses ? { clusterAddresses: opts.clusterAddresses } : {}) });
    this.transport = guardedTransport(this.policy);
  }

  async post(req: WebhookPost): Promise<number> {
    const session = this.transport();
    try {
      const res = await session.fetch(new URL(req.url), {
        method: 'POST',
        body: req.body,
        headers: req.headers,
        redirect: 'manual',
        signal: AbortSignal.timeout(req.timeoutMs),
      });
      // The answer's body is not wanted; reading it would let a receiver hold the delivery.
      await res.body?.cancel().catch(() => {});
      return res.status;
    } finally {
      session.close();
    }
  }

  async refusal(url: URL): Promise<string | undefined> {
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = portOf(url.port, url.protocol);
    const addresses = isIP(host) !== 0 ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
    // A name that does not resolve now may later: the check at each delivery decides then.
    const refusals = addresses.map((address) => this.policy.refusal({ host: host.toLowerCase(), port, address })).filter((r): r is string => r !== undefined);
    return addresses.length > 0 && refusals.length === addresses.length ? refusals.join('; ') : undefined;
  }
}
