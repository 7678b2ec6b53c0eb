/**
 * The connections image checks make, held to the address policy.
 *
 * Where the rule is applied: in the connector of an undici Agent, the one place every
 * connection of a fetch passes — the registry's, each redirect's (fetch follows them
 * through the same dispatcher) and the token service's. Checking URLs before fetch
 * would miss redirects, and would have to resolve names itself while the connection
 * resolves them again: a name that answers a public address to the check and a
 * loopback one to the connection (DNS rebinding) would pass. Here the connector
 * resolves the name once, classifies every address, and hands net.connect a lookup
 * that returns exactly the addresses that passed, so the connection goes nowhere
 * else. The host name itself is kept, so the Host header, TLS SNI and certificate
 * checks are what they would be without the policy.
 *
 * One session (one Agent) per registry endpoint a check asks: whether any of its
 * connections went to a private address decides what callers may be told about its
 * failures, and connections are reused within the check (challenge, token, manifest).
 */
import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { AddressRefused, type AddressPolicy, portOf } from './address-policy.js';

/** What registry-http needs of fetch: a URL and the options it sets. */
export type RegistryFetch = (url: URL, init: RequestInit) => Promise<Response>;

export interface TransportSession {
  fetch: RegistryFetch;
  /**
   * Whether a connection of this session went (or was about to go) to an address
   * that is not public: its connection errors would tell whether something listens
   * there, so they are not shown to callers.
   */
  readonly reachedPrivate: boolean;
  /** Frees the session's sockets; returns at once. */
  close(): void;
}

/** Opens a session: call once per registry endpoint a check asks, close when done. */
export type Transport = () => TransportSession;

export interface ResolvedAddress {
  address: string;
  family: number;
}

export interface GuardedTransportDeps {
  /** Name → addresses (the system resolver by default); tests give a fixed answer. */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
  /** Connects to one of `addresses`, which are all that may be dialled; tests record instead. */
  dial?: (options: buildConnector.Options, addresses: ResolvedAddress[], callback: buildConnector.Callback) => void;
}

export function guardedTransport(policy: AddressPolicy, deps: GuardedTransportDeps = {}): Transport {
  const resolve = deps.resolve ?? resolveHost;
  const dial = deps.dial ?? dialResolved;
  return () => {
    let reachedPrivate = false;
    const connect: buildConnector.connector = (options, callback) => {
      const port = portOf(options.port, options.protocol);
      resolve(options.hostname).then(
        (addresses) => {
          const permitted: ResolvedAddress[] = [];
          const reasons: string[] = [];
          for (const resolved of addresses) {
            const refusal = policy.refusal({ host: options.hostname, port, address: resolved.address });
            if (refusal !== undefined) {
              reasons.push(refusal);
              continue;
            }
            permitted.push(resolved);
            if (policy.isPrivate(resolved.address)) reachedPrivate = true;
          }
          if (permitted.length === 0) {
            callback(new AddressRefused(options.hostname, port, reasons.length > 0 ? reasons : ['the name resolved to no address']), null);
            return;
          }
          dial(options, permitted, callback);
        },
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err)), null),
      );
    };
    const agent = new Agent({ connect });
    // undici's own fetch with its own Agent: Node's built-in fetch is another copy of
    // undici, whose dispatcher interface may differ from this one's in a later Node.
    const fetch: RegistryFetch = (url, init) => undiciFetch(url, { ...init, dispatcher: agent });
    return {
      fetch,
      get reachedPrivate() {
        return reachedPrivate;
      },
      // destroy, not close: a body nobody read must not keep a socket open. Not awaited:
      // undici 6 never settles it for a socket the peer closed before undici took it
      // over (seen with a listener that closes at once, on the first connection of a
      // process), and a check must not wait on its cleanup.
      close: () => void agent.destroy().catch(() => {}),
    };
  };
}

/** Sessions that use `fetch` as it is, without any address policy: for test doubles of fetch. */
export function unguardedTransport(fetch: RegistryFetch): Transport {
  return () => ({ fetch, reachedPrivate: false, close: () => {} });
}

async function resolveHost(hostname: string): Promise<ResolvedAddress[]> {
  const family = isIP(hostname);
  if (family !== 0) return [{ address: hostname, family }];
  return lookup(hostname, { all: true });
}

/**
 * undici's own connector (TLS, SNI, timeouts as usual), given a lookup that answers
 * with the addresses already classified: net.connect asks it instead of DNS, and
 * tries them in turn as it would the resolver's answer (happy eyeballs).
 */
function dialResolved(options: buildConnector.Options, addresses: ResolvedAddress[], callback: buildConnector.Callback): void {
  const pinned: LookupFunction = (_hostname, lookupOptions, done) => {
    if (lookupOptions.all) done(null, addresses);
    else done(null, addresses[0]!.address, addresses[0]!.family);
  };
  buildConnector({ lookup: pinned })(options, callback);
}
