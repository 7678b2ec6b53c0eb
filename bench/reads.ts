/**
 * The read phases at one scale, each a fixed-concurrency load:
 *
 * - `healthz`: V-Kube's cheapest route, the server's own ceiling;
 * - `status`: `GET /api/v1/k8s/pod/status` of a random order (V-Kube, from its caches);
 * - `checkports`: `POST /api/v1/k8s/checkports` for the bench region (V-Kube);
 * - `direct status`: the same pod read from kube-apiserver (list by label, newest);
 * - `direct checkports`: the region's nodes, each node's pods, their host ports.
 *
 * Each phase's measured time is split into rounds, and the rounds of all phases are
 * interleaved (A B C D E, A B C D E, …), so a V-Kube phase and its direct twin see the
 * same background load even on a busy machine. Both draw their orders and ports from
 * the same seeded sequence.
 */
import { type Endpoint, endpoint, request } from './http.js';
import { type KubeAccess, directCheckPorts, directPodStatus, kubeEndpoint } from './kube.js';
import { type LoadResult, type LoadRound, type Operation, combine, runLoad } from './load.js';
import { scrape, windowFigures } from './metrics.js';
import { POPULATION_PORT_BASE } from './populate.js';
import { prng } from './stats.js';
import type { Order } from './vkube.js';

export const READ_PHASES = ['healthz', 'status', 'checkports', 'direct status', 'direct checkports'] as const;
export type ReadPhase = (typeof READ_PHASES)[number];

export interface ReadContext {
  vkubeUrl: string;
  kube: KubeAccess;
  orders: Order[];
  region: string;
  regionLabel: string;
  concurrency: number;
  warmupMs: number;
  /** Measured time per phase, all rounds together. */
  durationMs: number;
  rounds: number;
  seed: number;
  pids: Record<string, number>;
  log: (line: string) => void;
}

export async function runReadPhases(ctx: ReadContext): Promise<Record<ReadPhase, LoadResult>> {
  // One pool per phase, kept across its rounds: later rounds need only a short warm-up.
  const pools = new Map<ReadPhase, { vk: Endpoint; kube: Endpoint; op: Operation }>();
  for (const phase of READ_PHASES) {
    const vk = endpoint(ctx.vkubeUrl, ctx.concurrency);
    const kube = kubeEndpoint(ctx.kube, ctx.concurrency);
    pools.set(phase, { vk, kube, op: operation(phase, ctx, vk, kube) });
  }
  const metricsEndpoint = endpoint(ctx.vkubeUrl, 1);
  const rounds = new Map<ReadPhase, LoadRound[]>(READ_PHASES.map((p) => [p, []]));
  const roundMs = Math.round(ctx.durationMs / ctx.rounds);
  try {
    for (let r = 0; r < ctx.rounds; r++) {
      for (const phase of READ_PHASES) {
        let before: Awaited<ReturnType<typeof scrape>>;
        const round = await runLoad(pools.get(phase)!.op, {
          concurrency: ctx.concurrency,
          warmupMs: r === 0 ? ctx.warmupMs : Math.min(ctx.warmupMs, 500),
          durationMs: roundMs,
          pids: ctx.pids,
          probe: {
            start: async () => void (before = await scrape(metricsEndpoint)),
            end: async () => windowFigures(before, await scrape(metricsEndpoint)),
          },
        });
        rounds.get(phase)!.push(round);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      if (ctx.rounds > 1) ctx.log(`    round ${r + 1}/${ctx.rounds} done`);
    }
  } finally {
    for (const { vk, kube } of pools.values()) {
      vk.agent.destroy();
      kube.agent.destroy();
    }
    metricsEndpoint.agent.destroy();
  }

  const out = {} as Record<ReadPhase, LoadResult>;
  for (const phase of READ_PHASES) {
    const result = combine(rounds.get(phase)!);
    // Server CPU per answered request: V-Kube's own for its routes; kube-apiserver's and etcd's for the direct reads.
    const serverCpu = phase.startsWith('direct') ? (result.cpu['kube-apiserver'] ?? 0) + (result.cpu.etcd ?? 0) : (result.cpu.vkube ?? 0);
    if (result.throughput > 0) result.server.cpuMsPerRequest = Math.round((serverCpu / 100 / result.throughput) * 1000 * 1000) / 1000;
    out[phase] = result;
    const l = result.latency;
    const s = result.server;
    ctx.log(
      `    ${phase.padEnd(18)} ${String(result.throughput).padStart(8)} req/s  p50 ${fmt(l.p50Ms)}  p99 ${fmt(l.p99Ms)}` +
        `${result.errors ? `  ${result.errors} errors (${result.errorSamples[0]})` : ''}` +
        `${s.cpuMsPerRequest !== undefined ? `  server CPU ${s.cpuMsPerRequest} ms/req` : ''}` +
        `${s.eventLoopLagMaxMs !== undefined ? `, loop lag max ${s.eventLoopLagMaxMs} ms` : ''}` +
        `${s.reconcilePasses ? ` (${s.reconcilePasses} reconcile pass${s.reconcilePasses > 1 ? 'es' : ''} ~${s.reconcilePassMeanMs} ms)` : ''}` +
        `  cpu ${cpuLine(result.cpu)}`,
    );
  }
  return out;
}

function operation(phase: ReadPhase, ctx: ReadContext, vk: Endpoint, kube: Endpoint): Operation {
  // Same seed for a V-Kube phase and its direct twin: the same orders, the same ports.
  const random = prng(ctx.seed + (phase.includes('checkports') ? 1 : 0));
  const pickOrder = () => ctx.orders[Math.floor(random() * ctx.orders.length)]!;
  const pickPorts = () => {
    const held = (n: number) => POPULATION_PORT_BASE + Math.floor(random() * n);
    // Two held ports, one free one, one reserved (22).
    return [held(ctx.orders.length), held(ctx.orders.length), POPULATION_PORT_BASE + ctx.orders.length + 1 + Math.floor(random() * 100), 22];
  };

  switch (phase) {
    case 'healthz':
      return async () => {
        const res = await request(vk, 'GET', '/healthz');
        if (res.status !== 200) throw new Error(`healthz: HTTP ${res.status}`);
      };
    case 'status':
      return async () => {
        const order = pickOrder();
        const res = await request(vk, 'GET', '/api/v1/k8s/pod/status', { headers: { secret: order.secret } });
        if (res.status !== 200) throw new Error(`status: HTTP ${res.status} ${res.body.toString().slice(0, 120)}`);
        const body = res.json<{ name?: string; podStatus?: { phase?: string } }>();
        if (!body.name || body.podStatus?.phase !== 'Running') throw new Error(`status: pod not Running (${body.podStatus?.phase})`);
      };
    case 'direct status':
      return async () => {
        const order = pickOrder();
        const view = await directPodStatus(kube, order.id);
        if ((view.podStatus as { phase?: string }).phase !== 'Running') throw new Error('direct status: pod not Running');
      };
    case 'checkports':
      return async () => {
        const ports = pickPorts();
        const res = await request(vk, 'POST', '/api/v1/k8s/checkports', { body: { region: ctx.region, ports } });
        if (res.status !== 200) throw new Error(`checkports: HTTP ${res.status}`);
        const body = res.json<{ occupied: number[]; status: string }>();
        // Both held ports and 22 are taken; the free one is not.
        const expected = new Set([ports[0], ports[1], 22]);
        if (body.status !== 'PortsOccupied' || body.occupied.length !== expected.size || !body.occupied.every((p) => expected.has(p))) {
          throw new Error(`checkports: wrong answer ${JSON.stringify(body)} for ${JSON.stringify(ports)}`);
        }
      };
    case 'direct checkports':
      return async () => {
        const ports = pickPorts();
        const occupied = await directCheckPorts(kube, ctx.regionLabel, ctx.region, ports);
        if (occupied.length < (ports[0] === ports[1] ? 1 : 2)) throw new Error(`direct checkports: wrong answer ${JSON.stringify(occupied)} for ${JSON.stringify(ports)}`);
      };
  }
}

function fmt(ms: number): string {
  return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`.padStart(10);
}

export function cpuLine(cpu: Record<string, number>): string {
  return Object.entries(cpu)
    .filter(([, v]) => v >= 1)
    .map(([k, v]) => `${k} ${Math.round(v)}%`)
    .join(', ');
}
