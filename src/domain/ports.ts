/**
 * Host ports: which are free in a region, and which V-Kube picks for orders that let
 * it choose. A port is taken when a pod on one of the region's nodes uses it, another
 * order leases it, or the provider reserved it. The lease table (store) is what
 * finally guarantees one owner per (region, port, protocol).
 */
import { randomInt } from 'node:crypto';
import type { ClusterReader } from '../cluster/gateway.js';
import type { Config } from '../config.js';
import type { OrderStore } from './store-port.js';
import type { DeploySpec, PortSpec, Protocol } from './deploy-spec.js';
import { isReserved } from './deploy-spec.js';
import { ConflictError } from '../kernel/errors.js';
import { namespaceOf } from './manifests.js';

export type CheckStatus = 'NotOccupied' | 'PortsOccupied' | 'NoResource' | 'InternalErr';

export interface PortCheck {
  occupied: number[];
  status: CheckStatus;
}

/** How a host port stands for the customer asking: see `PortService.states`. */
export type PortState = 'free' | 'taken' | 'reserved' | 'yours';

/** Random host ports come from this range: above the usual service ports, below the NodePort range. */
export const RANDOM_PORT_RANGE: readonly [number, number] = [20000, 29999];

export class PortService {
  constructor(
    private readonly cluster: ClusterReader,
    private readonly store: OrderStore,
    private readonly config: Pick<Config, 'reservedPorts'>,
  ) {}

  /** `POST /k8s/checkports`: which of `ports` (any protocol) cannot be had in `region`. */
  async check(region: string, ports: number[], exceptOrderId?: string): Promise<PortCheck> {
    const regions = this.cluster.regions();
    if (!regions) return { occupied: [], status: 'InternalErr' };
    if (!regions.includes(region)) return { occupied: [], status: 'NoResource' };
    const taken = await this.taken(region, exceptOrderId, ports);
    if (!taken) return { occupied: [], status: 'InternalErr' };
    const occupied = [...new Set(ports.filter((p) => taken.has(`${p}/TCP`) || taken.has(`${p}/UDP`) || isReserved(p, this.config.reservedPorts)))];
    return { occupied, status: occupied.length ? 'PortsOccupied' : 'NotOccupied' };
  }

  /**
   * `POST /k8s/ports/state`: each of `ports` as a customer should hear it — reserved by
   * the provider, yours (held by `ownOrderId`: a redeploy keeps it), taken by someone
   * else, or free. The console and the CLI both show these words, so they never disagree.
   */
  async states(region: string, ports: number[], ownOrderId?: string): Promise<{ status: CheckStatus; ports: Array<{ port: number; state: PortState }> }> {
    const regions = this.cluster.regions();
    if (!regions) return { status: 'InternalErr', ports: [] };
    if (!regions.includes(region)) return { status: 'NoResource', ports: [] };
    const inUse = this.cluster.hostPortsInRegion(region, ports);
    if (!inUse) return { status: 'InternalErr', ports: [] };
    const own = ownOrderId ? namespaceOf(ownOrderId) : undefined;
    const mine = new Set<number>();
    const others = new Set<number>();
    for (const use of inUse) (own && use.namespace === own ? mine : others).add(use.port);
    for (const lease of await this.store.leasesInRegion(region, ports)) (ownOrderId && lease.orderId === ownOrderId ? mine : others).add(lease.port);
    const state = (port: number): PortState =>
      isReserved(port, this.config.reservedPorts) ? 'reserved' : others.has(port) ? 'taken' : mine.has(port) ? 'yours' : 'free';
    const answer = [...new Set(ports)].map((port) => ({ port, state: state(port) }));
    return { status: answer.some((p) => p.state === 'reserved' || p.state === 'taken') ? 'PortsOccupied' : 'NotOccupied', ports: answer };
  }

  /**
   * Ports (`"<port>/<protocol>"`) held in the region by anyone but `exceptOrderId`: by
   * leases, or by pods that are not the order's own. Only among `ports` when given
   * (index lookups: the hot path of checkports); all of them otherwise (to pick free
   * random ports). Undefined when the cluster cannot be read.
   */
  async taken(region: string, exceptOrderId?: string, ports?: number[]): Promise<Set<string> | undefined> {
    const inUse = this.cluster.hostPortsInRegion(region, ports);
    if (!inUse) return undefined;
    const own = exceptOrderId ? namespaceOf(exceptOrderId) : undefined;
    const taken = new Set<string>();
    for (const use of inUse) if (use.namespace !== own) taken.add(`${use.port}/${use.protocol}`);
    for (const lease of await this.store.leasesInRegion(region, ports)) {
      if (lease.orderId !== exceptOrderId) taken.add(`${lease.port}/${lease.protocol}`);
    }
    return taken;
  }

  /**
   * For orders that let V-Kube choose: gives every container port a host port. A port
   * the previous spec had keeps its host port (stable across updates and restarts:
   * the order still holds that lease); new ones get a free random port.
   */
  assignRandomPorts(spec: DeploySpec, previous: DeploySpec | null, taken: Set<string>): void {
    const exact = new Map<string, number>();
    const byPort = new Map<string, number>();
    for (const c of previous?.containers ?? []) {
      for (const p of c.ports) {
        if (p.hostPort === undefined) continue;
        exact.set(`${c.name}/${p.containerPort}/${p.protocol}`, p.hostPort);
        if (!byPort.has(`${p.containerPort}/${p.protocol}`)) byPort.set(`${p.containerPort}/${p.protocol}`, p.hostPort);
      }
    }
    const used = new Set<string>();
    const tryKeep = (p: PortSpec, candidate: number | undefined) => {
      if (p.hostPort !== undefined || candidate === undefined || used.has(`${candidate}/${p.protocol}`)) return;
      p.hostPort = candidate;
      used.add(`${candidate}/${p.protocol}`);
    };
    for (const c of spec.containers) for (const p of c.ports) tryKeep(p, exact.get(`${c.name}/${p.containerPort}/${p.protocol}`));
    for (const c of spec.containers) for (const p of c.ports) tryKeep(p, byPort.get(`${p.containerPort}/${p.protocol}`));
    for (const c of spec.containers) {
      for (const p of c.ports) {
        if (p.hostPort !== undefined) continue;
        p.hostPort = this.pickFree(p.protocol, (port) => taken.has(`${port}/${p.protocol}`) || used.has(`${port}/${p.protocol}`));
        used.add(`${p.hostPort}/${p.protocol}`);
      }
    }
  }

  private pickFree(protocol: Protocol, isTaken: (port: number) => boolean): number {
    const [lo, hi] = RANDOM_PORT_RANGE;
    for (let i = 0; i < 64; i++) {
      const port = randomInt(lo, hi + 1);
      if (!isTaken(port) && !isReserved(port, this.config.reservedPorts)) return port;
    }
    for (let port = lo; port <= hi; port++) if (!isTaken(port) && !isReserved(port, this.config.reservedPorts)) return port;
    throw new ConflictError(`no free ${protocol} host port is left in ${lo}-${hi} in this region`);
  }
}

