/**
 * For every missed target: the evidence from this run, the cause, and the fix.
 *
 * The evidence is computed from the run. The causes and fixes come from profiling
 * V-Kube with `npm run bench -- --profile` (bench/profile-summary.ts, heap-summary.ts)
 * and from reading the code paths named; each is printed only when this run's figures
 * show the symptom it explains.
 */
import { type DeployRound, cpuPerDeploy } from './deploys.js';
import type { RunResult, ScaleResult } from './results.js';
import { round } from './stats.js';
import { type MemoryGrowth, memoryGrowth } from './targets.js';

export function findingsFor(run: RunResult): string[] {
  const out: string[] = [];
  for (const t of run.targets) {
    if (t.met) continue;
    const lines = FINDINGS[t.id]?.(run);
    if (lines?.length) out.push(`### ${t.target}`, '', ...lines);
  }
  return out;
}

const FINDINGS: Record<string, (run: RunResult) => string[]> = {
  'status-p99-flat': (run) => flatness(run, 'status'),
  'checkports-p99-flat': (run) => flatness(run, 'checkports'),
  'status-p50-half-of-direct': statusAgainstDirect,
  'deploy-within-10pct': deployAgainstDirect,
  'memory-under-300mib': memory,
};

function ends(run: RunResult): { first: ScaleResult; last: ScaleResult } {
  return { first: run.scales[0]!, last: run.scales[run.scales.length - 1]! };
}

function flatness(run: RunResult, phase: 'status' | 'checkports'): string[] {
  const { first, last } = ends(run);
  const a = first.reads[phase];
  const b = last.reads[phase];
  const lines: string[] = [];
  const cpuA = a.server.cpuMsPerRequest ?? NaN;
  const cpuB = b.server.cpuMsPerRequest ?? NaN;
  lines.push(
    `**Evidence.** p99 ${a.latency.p99Ms} → ${b.latency.p99Ms} ms, p50 ${a.latency.p50Ms} → ${b.latency.p50Ms} ms, max ${a.latency.maxMs} → ${b.latency.maxMs} ms; ` +
      `V-Kube CPU per request ${cpuA} → ${cpuB} ms (${pct(cpuB / cpuA - 1)}); V-Kube used ${a.cpu.vkube ?? '?'}% → ${b.cpu.vkube ?? '?'}% of a core ` +
      `while other work on the machine used ${a.cpu.other ?? '?'}% → ${b.cpu.other ?? '?'}%; V-Kube's longest event-loop stall in the phase ` +
      `${a.server.eventLoopLagMaxMs ?? '?'} → ${b.server.eventLoopLagMaxMs ?? '?'} ms.`,
    '',
  );
  if (cpuB / cpuA <= 1.1) {
    lines.push(
      `The work per request did not grow with the pods (CPU per request ${pct(cpuB / cpuA - 1)}); what grew at the tail is waiting — for the ` +
        'event loop (below) and for a core.',
      '',
    );
  }

  const stall = worstStall(last);
  const interval = 30_000;
  if (stall.passMs >= 100 || stall.lagMs >= 100) {
    lines.push(
      `**Cause: a long synchronous step in the reconcile pass.** At ${last.pods} orders a pass took up to ${stall.passMs} ms and V-Kube's ` +
        `event loop stood still for up to ${stall.lagMs} ms (worst phase at that scale). The pass reads live orders 100 at a time ` +
        '(`SqlStore.listLiveOrders`), judges in-line orders from the caches and yields whenever it has held the loop for 5 ms, so a stall ' +
        'this long comes from one step that does not yield: a page read while V-Kube waits for a core, garbage collection, or an order ' +
        'out of line being reconciled. This load is a closed loop, so only the ' +
        `${run.parameters.concurrency} requests in flight are caught; with independent clients every request arriving during a stall waits: ` +
        `${stall.lagMs} ms in each ${interval / 1000} s interval is ${round((stall.lagMs / interval) * 100)}% of the time.`,
      '',
      '**Next step:** profile the phase (`npm run bench -- --profile`, then `bench/profile-summary.ts --phase`) to name the step; a smaller ' +
        'page, or selecting only the columns `inLine` reads and whole records only for orders out of line, shortens a page read.',
      '',
    );
  }
  if (cpuB / cpuA > 1.2) {
    lines.push(
      `**Cause: each request costs more with more pods** (${cpuA} → ${cpuB} ms of V-Kube CPU). Part of it is the reconcile pass's CPU charged ` +
        `to the window it ran in; part is garbage collection over a larger heap (heap ${first.reads['direct checkports'].server.heapUsedMiB ?? '?'} → ` +
        `${last.reads['direct checkports'].server.heapUsedMiB ?? '?'} MiB). Cut the phase in a profile to see the rest: ` +
        `\`npm run bench -- --profile\`, then \`npx tsx bench/profile-summary.ts bench/out/profiles/CPU.*.0.001.cpuprofile --phase "${phase}@${last.pods}"\`.`,
      '',
    );
  }
  if ((a.cpu.other ?? 0) >= 50 || (b.cpu.other ?? 0) >= 50) {
    lines.push(
      `**Noise.** Other work used ${a.cpu.other}% and ${b.cpu.other}% of a core during these phases (2 cores in all), and V-Kube got only ` +
        `${a.cpu.vkube ?? '?'}% / ${b.cpu.vkube ?? '?'}% of one. On a shared small machine p99 largely measures how long V-Kube waited for a ` +
        'core; a margin of a few percent is within what reruns move. Confirm on a quiet machine before acting on the p99 alone.',
      '',
    );
  }
  return lines;
}

function worstStall(s: ScaleResult): { passMs: number; lagMs: number } {
  let passMs = 0;
  let lagMs = 0;
  for (const r of Object.values(s.reads)) {
    passMs = Math.max(passMs, r.server.reconcilePassMaxMs ?? r.server.reconcilePassMeanMs ?? 0);
    lagMs = Math.max(lagMs, r.server.eventLoopLagMaxMs ?? 0);
  }
  return { passMs, lagMs };
}

function statusAgainstDirect(run: RunResult): string[] {
  const lines: string[] = [];
  const rows = run.scales.map((s) => {
    const v = s.reads.status;
    const d = s.reads['direct status'];
    return (
      `${s.pods} pods: p50 ${v.latency.p50Ms} vs ${d.latency.p50Ms} ms, ${v.throughput} vs ${d.throughput} req/s, CPU per request ` +
      `${v.server.cpuMsPerRequest} ms (V-Kube) vs ${d.server.cpuMsPerRequest} ms (kube-apiserver + etcd); V-Kube used ${v.cpu.vkube ?? '?'}% of a core, ` +
      `kube-apiserver ${d.cpu['kube-apiserver'] ?? '?'}% + etcd ${d.cpu.etcd ?? '?'}%; other work ${v.cpu.other ?? '?'}% / ${d.cpu.other ?? '?'}%`
    );
  });
  lines.push(`**Evidence.** ${rows.join('; ')}.`, '');
  const cheaper = run.scales.map((s) => (s.reads['direct status'].server.cpuMsPerRequest ?? NaN) / (s.reads.status.server.cpuMsPerRequest ?? NaN));
  const apiCores = Math.max(...run.scales.map((s) => ((s.reads['direct status'].cpu['kube-apiserver'] ?? 0) + (s.reads['direct status'].cpu.etcd ?? 0)) / 100));
  lines.push(
    `**Cause.** With ${run.parameters.concurrency} requests in flight, p50 ≈ ${run.parameters.concurrency} ÷ throughput, so the p50 ratio is the ` +
      `inverse of the throughput ratio. Per request V-Kube spends ${round(Math.min(...cheaper))}–${round(Math.max(...cheaper))}× less CPU than ` +
      'kube-apiserver and etcd spend on the direct read, but V-Kube is one event loop and can use one core at most, while kube-apiserver and etcd ' +
      `spread the direct reads over every core they get (up to ${round(apiCores)} cores in this run, on a ${run.machine.cores}-core machine that ` +
      'also runs the load generator and, here, other people\'s work). On a quiet machine (a profiled quick run at 1,000 pods) V-Kube saturated ' +
      'its core (100%) while kube-apiserver + etcd used 136% of one, and the ratio was 0.76×. "Half the latency" therefore needs V-Kube to be ' +
      'cheaper per request by about twice the number of cores the apiserver gets, not by 2×.',
    '',
    'Where V-Kube\'s CPU went on this route before two fixes (CPU profile of the status phase at 1,000 pods, compiled V-Kube, quiet ' +
      'machine): 34% in SQLite, 19 points of it in better-sqlite3\'s `prepare()` (Kysely prepared every query afresh), 5% `JSON.stringify` ' +
      'of the pod. Both are fixed in the measured tree: a bounded cache of prepared statements (`src/store/statement-cache.ts`) and the ' +
      'pod\'s view serialized once per change of the pod (`sendUnchangingJson`); on a quick run they took the route from 0.325 to 0.174 ms ' +
      'of CPU per request and its p50 from 0.84× to 0.38× of the direct read. Later, the order and its domains were read whole on every ' +
      'request (a fifth of the route\'s CPU at 500 pods: better-sqlite3 makes a 36-column row object); now one narrow indexed read of the ' +
      'order\'s id and version, which the database bumps on every change of the order or its domains, and the kept copy ' +
      '(`src/store/known-orders.ts`, `DomainService.atVersion`). What remains per request: that read, the HMAC of the secret, fastify\'s ' +
      'routing and hooks, prom-client, writing to the socket.',
    '',
    '**Fixes** if the ratio is missed again:',
    '',
    '1. Reads scale with processes, not with a faster event loop: every replica serves the API (leader election gates only the reconcile ' +
      'loop), so on more cores run more V-Kube processes behind the Service. The benchmark runs one.',
    '',
  );
  return lines;
}

/**
 * What a deploy costs the machine's CPU, V-Kube's against the isolated direct one: on a
 * machine whose cores are all busy during a deploy, CPU is latency.
 */
function cpuOfDeploys(rounds: DeployRound[]): string[] {
  const one = (d: DeployRound) => {
    const v = cpuPerDeploy(d.vkube);
    const i = cpuPerDeploy(d.directIsolated);
    if (!v || !i) return undefined;
    const more = Object.keys({ ...d.vkube.cpuMsMean, ...d.directIsolated.cpuMsMean })
      .map((name) => [name, (d.vkube.cpuMsMean[name] ?? 0) - (d.directIsolated.cpuMsMean[name] ?? 0)] as const)
      .filter(([, ms]) => Math.abs(ms) >= 1)
      .sort((a, b) => b[1] - a[1])
      .map(([name, ms]) => `${name} ${ms > 0 ? '+' : ''}${round(ms)} ms`);
    return (
      `${d.atPods} pods: the machine used ${round(v.totalMs)} ms of CPU per V-Kube deploy (${round(v.cores)} cores busy until Running) ` +
      `against ${round(i.totalMs)} ms (${round(i.cores)} cores) for the isolated direct one: ${more.join(', ') || 'no process 1 ms apart'}`
    );
  };
  const measured = rounds.map(one).filter((line) => line !== undefined);
  if (!measured.length) return [];
  return [
    `**What a deploy costs the CPU** (means, /proc). ${measured.join('; ')}. With the cores this busy, a deploy waits for CPU: ` +
      'every ms of CPU V-Kube adds (its own work, and what its writes and watches cost kube-apiserver) lengthens the deploy, ' +
      'which a V-Kube on its own cores, away from the control plane, would not.',
    '',
  ];
}

function deployAgainstDirect(run: RunResult): string[] {
  const lines: string[] = [];
  const fmt = (d: DeployRound) =>
    `${d.atPods} pods: V-Kube answered at ${d.vkube.acceptedMedianMs} ms, its pod appeared at ${d.vkube.podCreatedMedianMs} ms, was scheduled at ` +
    `${d.vkube.podScheduledMedianMs} ms, Running at ${d.vkube.watchMedianMs} ms (the bench's watch) and ${d.vkube.runningMedianMs} ms (V-Kube's wait answered); direct: ` +
    `creates answered at ${d.direct.acceptedMedianMs} ms, pod at ${d.direct.podCreatedMedianMs} ms, scheduled at ${d.direct.podScheduledMedianMs} ms, Running at ${d.direct.runningMedianMs} ms`;
  lines.push(`**Evidence** (medians). ${run.deploys.map(fmt).join('; ')}.`, '');
  const split = (d: DeployRound) => {
    const toPod = d.vkube.podCreatedMedianMs - d.direct.podCreatedMedianMs;
    const podToRunning = d.vkube.watchMedianMs - d.vkube.podCreatedMedianMs - (d.direct.watchMedianMs - d.direct.podCreatedMedianMs);
    const answer = d.vkube.runningMedianMs - d.vkube.watchMedianMs;
    return (
      `${d.atPods} pods: ${round(d.vkube.runningMedianMs - d.direct.runningMedianMs)} ms ≈ ${round(toPod)} ms until the pod exists + ` +
      `${round(podToRunning)} ms from pod to Running + ${round(answer)} ms for the wait's answer`
    );
  };
  lines.push(
    `**Where the gap goes.** ${run.deploys.map(split).join('; ')}. "Until the pod exists" is V-Kube's path to its Deployment (request, ` +
      'checks, the database, the leader\'s apply) against the direct namespace and Deployment creates; "pod to Running" is the same ' +
      'controllers, scheduler and node on both sides (its difference is their noise); "the wait\'s answer" is V-Kube\'s pod watch seeing ' +
      'Running after the bench\'s did, and the answer reaching the client. Medians of different samples: the parts need not add up exactly.',
    '',
    `**Against the isolated namespace.** ${run.deploys
      .map(
        (d) =>
          `${d.atPods} pods: the isolation costs Kubernetes ${round(d.directIsolated.runningMedianMs - d.direct.runningMedianMs)} ms ` +
          `(direct into an isolated namespace ${round(d.directIsolated.runningMedianMs / d.direct.runningMedianMs)}× direct), ` +
          `V-Kube's part (its path, its write and the wait's answer) ${round(d.vkube.runningMedianMs - d.directIsolated.runningMedianMs)} ms (${round(d.vkube.runningMedianMs / d.directIsolated.runningMedianMs)}× the isolated side)`,
      )
      .join('; ')}. The isolated side creates only the Deployment, in a namespace labelled and filled as V-Kube fills an order\'s at sale.`,
    '',
    ...cpuOfDeploys(run.deploys),
    '**What the deploy path is** (traces at 100 and 5,000 pods, 5 December 2026; bench/README.md, "Where a deploy\'s time goes"): ' +
      'V-Kube\'s handler has the request about 1 ms after the client sent it; authentication, validation, image and host-port checks ' +
      'about 0.4 ms; the `recordDeploy` transaction about 1 ms; the leader takes the order from the work queue about 0.6 ms later and ' +
      'creates the Deployment (a POST, as the watch does not show it yet; a later deploy applies it), answered some 5 ms later. The ' +
      'namespace, quota, limits and deny-by-default policy were made at sale and are not applied again while the watches show them ' +
      'as the leader applied them.',
    '',
    '**What is left.** On kwok, Running comes 35–50 ms after the create. V-Kube\'s HTTP hop, its record and the hand-off to the one ' +
      'writer (some 3 ms before its Deployment is written), the quota admission its isolation costs every pod (about 3.7 ms; the ' +
      'isolated direct side pays it too, and saves the namespace create instead) and the wait\'s answer (one more hop, 1–3 ms on busy ' +
      'cores) are about a tenth of that before V-Kube\'s CPU is counted. The 1.10× target against a bare create leaves no room for ' +
      'them on kwok; on the real node, where containers take seconds, V-Kube meets it. bench/README.md gives the trace and the choices.',
    '',
  );
  return lines;
}

function memory(run: RunResult): string[] {
  const { last } = ends(run);
  const start = run.memoryAtStart?.rssMiB ?? NaN;
  const end = last.memoryAfterReads?.rssMiB ?? NaN;
  const lines: string[] = [];
  lines.push(
    `**Evidence.** RSS ${start} MiB at start (no orders), ${end} MiB with ${last.pods} pods and ${last.ordersInDatabase} orders: the start-up ` +
      `share is ${Math.round((start / end) * 100)}%, growth ${growthText(memoryGrowth(run.scales, run.memoryAtStart))}` +
      `${last.memoryAtRest ? ` (${last.memoryAtRest.rssMiB} MiB after 15 s without load)` : ''}. V8 heap in use at ` +
      `the end: ${last.reads['direct checkports'].server.heapUsedMiB ?? '?'} MiB. V-Kube ran ${run.parameters.runtime === 'tsx' ? 'through tsx' : 'compiled'}.`,
    '',
  );
  if (start > 150) {
    lines.push(
      '**Cause: the start-up footprint.** Measured on this machine (a Node process importing V-Kube\'s modules, after GC): through tsx ' +
        '234 MiB, compiled to JavaScript 145 MiB — tsx\'s loader runs in its own thread with its own heap and keeps transformed sources; and ' +
        'importing `@kubernetes/client-node` alone takes a bare Node process from 41 to 113 MiB (its ~1,000 generated API and model modules ' +
        'load even when only `KubeConfig` is used, plus their source maps when source maps are enabled). A heap snapshot at 500 pods held ' +
        '24 MiB of module source and source-map strings and 18 MiB of compiled code, against a few MiB of pods.',
      '',
      '**Fix:** run compiled JavaScript in production (`tsc` to dist/, `node dist/src/main.js`: Containerfile and `npm start`), and read the ' +
        'kubeconfig without `@kubernetes/client-node` (client certificate, token and in-cluster service account cover V-Kube\'s cases; import ' +
        'the library lazily only for exec and auth-provider plugins).',
      '',
    );
  }
  if ((end - start) / last.pods > 0.02) {
    lines.push(
      '**Cause: per-pod growth.** The pod watch cache keeps every pod of the cluster whole (less managedFields); other workloads\' pods are ' +
        'needed only for their node, phase and host ports, and the Deployment cache only for generation annotations and replicas. **Fix:** a ' +
        '`transform` on those watch caches (src/cluster/kubernetes-gateway.ts) that keeps only those fields for pods V-Kube does not serve.',
      '',
    );
  }
  return lines;
}

function pct(x: number): string {
  if (!Number.isFinite(x)) return '?';
  if (Math.abs(x) < 0.005) return '±0%';
  return `${x >= 0 ? '+' : '−'}${Math.round(Math.abs(x) * 100)}%`;
}

function growthText(g: MemoryGrowth | undefined): string {
  return g ? `${round(g.perThousand)} MiB per 1,000 pods+orders ${g.from === 'scale' ? `from ${g.fromPods} pods` : 'from the start'}` : 'unknown';
}
