/**
 * Where a customer reaches its app: each published host port at the public address of
 * the pod's node, and each custom domain as a URL. The public address is the one the
 * provider configured for the region (`VKUBE_PUBLIC_HOSTS`), else the node's ExternalIP.
 * A node's InternalIP is never given as if it were public: without a public address
 * the endpoint says so (`host: null`) and carries the internal address marked as such.
 */
import type { ClusterReader, PodJson } from '../cluster/gateway.js';
import type { DomainView } from './custom-domains.js';

/** What of a pod its endpoints are read from. */
export type EndpointPod = Pick<PodJson, 'spec' | 'status'>;

export interface EndpointView {
  container: string;
  containerPort: number;
  protocol: 'TCP' | 'UDP';
  /** The public host name or address; null when the node has none (see `note`). */
  host: string | null;
  /** The host port (for a custom domain: 443 with HTTPS, else 80). */
  hostPort: number;
  /** `http://host:port/` for a TCP host port with a public host; the domain's URL for a custom domain. */
  url?: string;
  /** Where the public address comes from: the provider's setting, the node's ExternalIP, a custom domain. */
  source: 'provider' | 'node' | 'domain' | 'none';
  /** The node's internal address, only when there is no public one: reachable from the provider's network only. */
  internalHost?: string;
  /** Why there is no public address, in plain words. */
  note?: string;
}

export const NO_PUBLIC_ADDRESS =
  'this node has no public address: the provider has not configured one for the region (VKUBE_PUBLIC_HOSTS) and the node reports no ExternalIP; the port answers on the internal address only, inside the provider’s network';

/** What an order's endpoints without custom domains were made from, and them: see EndpointService.endpoints. */
interface Made {
  status: PodJson['status'];
  addresses: Array<{ type: string; address: string }> | undefined;
  region: string;
  view: EndpointView[];
}

export class EndpointService {
  /**
   * Endpoints without custom domains, by the pod's spec object: the watch cache replaces
   * a pod (and its node) on every change, so the same objects mean the same endpoints,
   * and a status read does not make them again. Callers must not modify the list.
   */
  private readonly made = new WeakMap<object, Made>();

  constructor(
    private readonly cluster: Pick<ClusterReader, 'addressesOfNode'>,
    private readonly publicHosts: Readonly<Record<string, string>>,
  ) {}

  /** The endpoints of `pod` (in `region`) and of the order's custom domains. */
  endpoints(pod: EndpointPod, region: string, domains: readonly DomainView[]): EndpointView[] {
    const node = pod.spec.nodeName;
    const addresses = node ? this.cluster.addressesOfNode(node) : undefined;
    if (domains.length > 0) return this.make(pod, region, domains, addresses ?? []);
    const before = this.made.get(pod.spec);
    if (before && before.status === pod.status && before.addresses === addresses && before.region === region) return before.view;
    const view = this.make(pod, region, domains, addresses ?? []);
    this.made.set(pod.spec, { status: pod.status, addresses, region, view });
    return view;
  }

  private make(pod: EndpointPod, region: string, domains: readonly DomainView[], addresses: Array<{ type: string; address: string }>): EndpointView[] {
    const out: EndpointView[] = [];
    const node = pod.spec.nodeName;
    const configured = this.publicHosts[region];
    const external = addresses.find((a) => a.type === 'ExternalIP')?.address;
    const internal = addresses.find((a) => a.type === 'InternalIP')?.address ?? (typeof pod.status?.hostIP === 'string' ? pod.status.hostIP : undefined);
    const host = configured ?? external ?? null;
    const source = configured ? 'provider' : external ? 'node' : 'none';
    for (const c of pod.spec.containers) {
      for (const p of c.ports ?? []) {
        if (!p.hostPort) continue;
        const protocol = p.protocol === 'UDP' ? 'UDP' : 'TCP';
        const e: EndpointView = { container: c.name, containerPort: p.containerPort, protocol, host, hostPort: p.hostPort, source };
        if (host && protocol === 'TCP') e.url = `http://${hostInUrl(host)}:${p.hostPort}/`;
        if (!host) {
          if (internal) e.internalHost = internal;
          e.note = node ? NO_PUBLIC_ADDRESS : 'the pod is not on a node yet';
        }
        out.push(e);
      }
    }
    for (const d of domains) {
      // The domain routes to a container port; name the container that has it.
      const owner = pod.spec.containers.find((c) => (c.ports ?? []).some((p) => p.containerPort === d.containerPort && (p.protocol ?? 'TCP') === 'TCP'));
      out.push({
        container: owner?.name ?? '',
        containerPort: d.containerPort,
        protocol: 'TCP',
        host: d.domain,
        hostPort: d.isHttps ? 443 : 80,
        url: `${d.isHttps ? 'https' : 'http'}://${d.domain}/`,
        source: 'domain',
      });
    }
    return out;
  }
}

function hostInUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
