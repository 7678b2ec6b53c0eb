/**
 * `npm run bench [-- --quick]`: V-Kube's read and deploy paths against direct
 * kube-apiserver calls, at growing numbers of pods, on a cluster of its own.
 *
 * 1. start a local control plane in a temporary directory on its own ports, with a
 *    `bench` region sized for the largest scale; a real OCI registry (Debian's
 *    docker-registry on loopback) holding the image every deploy names; V-Kube;
 * 2. for each scale: grow the population (orders + seed deploys) until that many pods
 *    run, then run the read phases (healthz, status, checkports, and their direct
 *    twins) and, at the chosen scales, time deploys to Running both ways;
 * 3. check the issue's targets, write bench/out/report.{md,json}, take everything down.
 *
 * README.md beside this file says how to read the report.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../dev/cluster/config.js';
import { startRegistry } from '../dev/registry/testing.js';
import { BENCH_REGION, type BenchCluster, REAL_REGION, REGION_LABEL, startBenchCluster } from './cluster.js';
import { type DeployRound, measureDeploys } from './deploys.js';
import { type ExecRound, measureExecOnOwnOrder } from './exec.js';
import { type TwoClusterRound, measureTwoClusters } from './two-clusters.js';
import { findingsFor } from './findings.js';
import { kubeAccess, PodWatch } from './kube.js';
import { describeMachine, describeVersions, loadAverageNow } from './machine.js';
import { manifestMemoryLimit, manifestNodeOptions } from './memory-limit.js';
import { parseParams } from './params.js';
import { populate } from './populate.js';
import { pauseNetworkPolicyEnforcer, prepareRealNode } from './real-node.js';
import { CpuMeter } from './proc.js';
import { monoUs } from './load.js';
import { READ_PHASES, cpuLine, runReadPhases } from './reads.js';
import { writeReport } from './report.js';
import type { RunResult, ScaleResult } from './results.js';
import { evaluateTargets } from './targets.js';
import { Teardown } from './teardown.js';
import { type Order, type Vkube, abortOrder, buildVkube, killStartedVkubes, startVkube } from './vkube.js';

const OUT_DIR = join(repoRoot, 'bench', 'out');
/** After populating, wait until the control plane uses less than this (% of a core)… */
const SETTLE_CPU = 30;
/** …for at most this long. */
const SETTLE_MAX_MS = 90_000;
/** After the read phases, V-Kube's memory is read again after this long without load (V8's memory reducer waits some 8 s). */
const REST_MS = 15_000;

/** REST_MS without load, CPU metered per process: the population's background cost. */
async function atRest(pids: Record<string, number>): Promise<NonNullable<ScaleResult['cpuAtRest']>> {
  const [start, monoStartUs] = [Date.now(), monoUs()];
  const meter = new CpuMeter(pids);
  await new Promise((r) => setTimeout(r, REST_MS));
  return { cpu: meter.read(), window: { start, end: Date.now(), monoStartUs, monoEndUs: monoUs() } };
}

/**
 * Thousands of new pods keep the controllers, kwok and kube-apiserver busy for a while
 * after the last one runs; measuring then would charge that to whoever runs first. The
 * rest of the machine counts too: after the real-node phases its kubelet and containerd
 * take the aborted orders' containers down (40 % of a core and more for a minute).
 */
async function settle(pids: Record<string, number>, log: (line: string) => void): Promise<boolean> {
  const plane = Object.fromEntries(Object.entries(pids).filter(([name]) => name !== 'vkube'));
  const deadline = Date.now() + SETTLE_MAX_MS;
  await new Promise((r) => setTimeout(r, 3000));
  for (;;) {
    const meter = new CpuMeter(plane);
    await new Promise((r) => setTimeout(r, 3000));
    const cpu = meter.read();
    const busy = Object.entries(cpu)
      .filter(([name]) => name !== 'load generator' && name !== 'other')
      .reduce((s, [, v]) => s + v, 0);
    const other = cpu.other ?? 0;
    if (busy < SETTLE_CPU && other < SETTLE_CPU) {
      log(`  control plane quiet (${Math.round(busy)}% of a core; other work on the machine ${Math.round(other)}%)`);
      return true;
    }
    if (Date.now() > deadline) return false;
    log(`  waiting for the control plane and the machine to settle (${Math.round(busy)}% of a core, other work ${Math.round(other)}%: ${cpuLine(cpu)})`);
  }
}

async function main(): Promise<void> {
  const params = parseParams(process.argv.slice(2));
  const t0 = Date.now();
  const log = (line: string) => {
    const s = Math.floor((Date.now() - t0) / 1000);
    console.log(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}`);
  };
  const stages: Record<string, number> = {};
  const stage = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      stages[name] = Math.round((Date.now() - t) / 100) / 10;
    }
  };

  await mkdir(OUT_DIR, { recursive: true });
  const machine = describeMachine();
  const versions = describeVersions();
  log(`V-Kube benchmark, ${params.mode} run: scales ${params.scales.join(', ')} pods, concurrency ${params.concurrency}, ${params.phaseMs / 1000} s per load phase`);
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Linux ${machine.kernel}, Node ${machine.node}, load ${machine.loadAverageAtStart}`);

  const notes: string[] = [];
  let cluster: BenchCluster | undefined;
  let vk: Vkube | undefined;
  let watch: PodWatch | undefined;
  // Everything the run starts is registered here as it starts: the end, an error and Ctrl-C all take it down.
  const teardown = new Teardown(log);
  teardown.add({
    name: 'V-Kube',
    phase: 'vkube',
    stop: async (interrupted) => {
      await watch?.stop().catch(() => {});
      // Interrupted, the load still runs against it: a short grace, then SIGKILL (a profile is lost then).
      await vk?.stop(interrupted ? 3_000 : 30_000);
      killStartedVkubes();
    },
  });
  let firstSignalAt = 0;
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      // One Ctrl-C comes twice: from the terminal to the whole process group, and relayed by tsx.
      if (firstSignalAt && Date.now() - firstSignalAt < 2_000) return;
      if (firstSignalAt) {
        log(`${sig} again: killing what is left`);
        void teardown.killNow().finally(() => process.exit(130));
        return;
      }
      firstSignalAt = Date.now();
      log(`${sig}: cleaning up (again to kill what is left at once)`);
      void teardown.run(true).finally(() => process.exit(130));
    });
  }

  try {
    const registry = await startRegistry();
    teardown.add({ name: 'the registry', phase: 'other', stop: () => registry.stop() });
    await registry.pushImage('bench/app', '1');
    const image = `${registry.host}/bench/app:1`;
    log(`starting the bench cluster (ports ${params.portBase}–${params.portBase + 6}, ${params.benchNodes} bench nodes × ${params.podsPerNode} pods)`);
    const starting = stage('cluster up', () => startBenchCluster({ portBase: params.portBase, benchNodes: params.benchNodes, podsPerNode: params.podsPerNode, log }));
    if (!params.keepCluster) teardown.cluster('the bench cluster', starting, (b) => b.stateDir, (b) => b.stop());
    const c = await starting;
    cluster = c;
    log(`  up in ${(c.upMs / 1000).toFixed(1)} s: ${c.dir}`);

    let runtime: { kind: 'dist'; main: string } | { kind: 'tsx' } = { kind: 'tsx' };
    if (params.runtime === 'dist') {
      log('compiling V-Kube (src/ → bench/out/vkube-dist)');
      const built = await stage('V-Kube build', () => buildVkube(OUT_DIR));
      runtime = { kind: 'dist', main: built.main };
      log(`  compiled in ${(built.ms / 1000).toFixed(1)} s${built.diagnostics ? ` (${built.diagnostics} type error(s) in the tree; emitted anyway)` : ''}`);
      if (built.diagnostics) notes.push(`The working tree had ${built.diagnostics} type error(s) when V-Kube was compiled; tsc emitted it anyway.`);
    }
    const profileDir = join(OUT_DIR, 'profiles');
    if (params.profile) await mkdir(profileDir, { recursive: true });
    const asInPod = params.asInPod ? { asInPod: { memoryLimitBytes: manifestMemoryLimit(), nodeOptions: manifestNodeOptions() } } : {};
    const v = await stage('V-Kube start', () =>
      startVkube({
        runtime,
        dir: c.dir,
        kubeconfig: c.kubeconfig,
        logFile: join(OUT_DIR, 'vkube.log'),
        logLevel: params.logLevel,
        ...asInPod,
        ...(params.profile ? { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--diagnostic-dir=${profileDir}`, '--heapsnapshot-signal=SIGUSR2'] } : {}),
      }),
    );
    vk = v;
    // Let start-up work (cache sync, first reconcile pass) finish before taking the baseline.
    await new Promise((r) => setTimeout(r, 3000));
    const memoryAtStart = v.memory();
    log(`V-Kube ready in ${(v.startMs / 1000).toFixed(1)} s at ${v.url} (pid ${v.pid}, log bench/out/vkube.log), RSS ${memoryAtStart?.rssMiB} MiB`);
    notes.push(
      v.memoryLimit
        ? `V-Kube ran under its manifest's memory limit (deploy/kubernetes/vkube.yaml), imposed by ${v.memoryLimit}: Node sizes its heap from it as in its pod.`
        : "V-Kube ran without a memory limit (`--machine-memory`): Node sized its heap from the machine's memory, not as in its pod.",
    );

    const access = await kubeAccess(c.kubeconfig);
    const w = new PodWatch(access);
    watch = w;
    await w.start();
    // A deploy is charged with every process of the cluster (the real node's kubelet and containerd too).
    const deployPids: Record<string, number> = { vkube: v.pid, ...c.pids };

    let realDeploys: DeployRound | undefined;
    let exec: ExecRound | undefined;
    if (params.realDeploys > 0 || params.execSamples > 0) {
      log(`deploy-to-Running on the real node (${REAL_REGION}): warm-up deploy pulls the image`);
      const real = await stage('real node warm-up', () => prepareRealNode(v, w, REAL_REGION, 39990));
      if (!real) {
        notes.push('The bench cluster has no real node (it needs root), so no deploys of real containers were timed.');
      } else {
        if (params.execSamples > 0) {
          log(`exec into a container of its own (250m CPU): ${params.execSamples} one-shot execs and interactive sessions, alternating`);
          exec = await stage('real node exec', () => measureExecOnOwnOrder(v, w, REAL_REGION, real.image, 39991, params.execSamples, log));
        }
        if (params.realDeploys > 0) {
          log(`  real deploy-to-Running: ${params.realDeploys} deploys each way, alternating (image ${real.image}, already pulled)`);
          const round = await stage('real node deploys', () =>
            measureDeploys({ vk: v, kube: access, watch: w, templateOrder: real.warm, atPods: 0, count: params.realDeploys, round: 9, region: REAL_REGION, image: real.image, real: true, pids: deployPids, log }),
          );
          realDeploys = round;
          log(`  median real deploy-to-Running: V-Kube ${round.vkube.runningMedianMs} ms (p99 ${round.vkube.runningP99Ms} ms), direct ${round.direct.runningMedianMs} ms (${round.ratio}×)`);
        }
        await abortOrder(v, real.warm);
        await w.podsGone(new Set([real.warm.namespace]), 120_000);
      }
    }

    if (params.pauseEnforcer) {
      const resume = pauseNetworkPolicyEnforcer(c.pids);
      if (resume) {
        teardown.add({ name: "the real node's policy enforcer (resumed)", phase: 'vkube', stop: async () => resume() });
        log("the real node's NetworkPolicy enforcer (kube-router) is paused for the kwok phases: it re-syncs every order's policy, and no kwok pod is on its node");
        notes.push(
          "The real node's NetworkPolicy enforcer (kube-router) was paused (SIGSTOP) after the real-node phases: it re-writes iptables for every policy in the cluster on each change, and would charge the kwok phases for a node none of their pods is on (`--keep-enforcer` keeps it running).",
        );
      }
    }

    const pids: Record<string, number> = { vkube: v.pid };
    for (const name of ['kube-apiserver', 'etcd', 'kube-controller-manager', 'kube-scheduler', 'kwok']) if (c.pids[name]) pids[name] = c.pids[name]!;

    const orders: Order[] = [];
    const scales: ScaleResult[] = [];
    const deploys: DeployRound[] = [];
    let abortedOrders = 0;

    for (const target of params.scales) {
      log(`scale ${target} pods: populating (${target - orders.length} more orders, ${params.populateParallel} at a time)`);
      const pop = await stage(`populate to ${target}`, () =>
        populate({ vk: v, watch: w, orders, target, parallel: params.populateParallel, region: BENCH_REGION, image, log }),
      );
      const memoryAfterPopulate = v.memory();
      log(`  ${target} pods Running after ${(pop.runningMs / 1000).toFixed(1)} s; V-Kube RSS ${memoryAfterPopulate?.rssMiB} MiB`);
      const quiet = await stage(`settle at ${target}`, () => settle(pids, log));
      if (!quiet) notes.push(`${target} pods: the control plane or the rest of the machine was still busy (over ${SETTLE_CPU}% of a core) after ${SETTLE_MAX_MS / 1000} s of waiting; the read phases ran anyway.`);

      log(
        `  read phases (${params.concurrency} in flight; ${params.rounds} interleaved round(s) of ${params.phaseMs / params.rounds / 1000} s per phase, ` +
          `${params.warmupMs / 1000} s warm-up)`,
      );
      const reads = await stage(`reads at ${target}`, () =>
        runReadPhases({
          vkubeUrl: v.url,
          kube: access,
          orders: orders.slice(0, target),
          region: BENCH_REGION,
          regionLabel: REGION_LABEL,
          concurrency: params.concurrency,
          warmupMs: params.warmupMs,
          durationMs: params.phaseMs,
          rounds: params.rounds,
          seed: params.seed + target,
          pids,
          log,
        }),
      );
      const memoryAfterReads = v.memory();
      log(`  V-Kube RSS ${memoryAfterReads?.rssMiB} MiB (peak ${memoryAfterReads?.peakMiB} MiB)`);
      const cpuAtRest = await atRest(pids);
      const memoryAtRest = v.memory();
      log(`  V-Kube RSS ${memoryAtRest?.rssMiB} MiB after ${REST_MS / 1000} s without load; CPU meanwhile ${JSON.stringify(cpuAtRest.cpu)}`);
      for (const phase of READ_PHASES) {
        const r = reads[phase];
        if (r.errors) notes.push(`${target} pods, ${phase}: ${r.errors} of ${r.requests} requests failed, e.g. "${r.errorSamples[0]}".`);
        if ((r.cpu['load generator'] ?? 0) >= 90) {
          notes.push(`${target} pods, ${phase}: the load generator used ${Math.round(r.cpu['load generator']!)}% of a core — its throughput is a lower bound of what the server can do.`);
        }
      }
      scales.push({
        pods: target,
        ordersInDatabase: orders.length + abortedOrders,
        populate: { created: pop.created, deploySeconds: Math.round(pop.deployMs / 100) / 10, runningSeconds: Math.round(pop.runningMs / 100) / 10 },
        reads,
        memoryAfterPopulate,
        memoryAfterReads,
        memoryAtRest,
        cpuAtRest,
      });

      if (params.profile && target === params.scales[params.scales.length - 1]) {
        if (v.memoryLimit) {
          // Writing a snapshot takes about as much memory again as the heap: under the pod's limit
          // that got V-Kube OOM-killed at 5,000 pods, and its CPU profile (written at exit) lost with it.
          log(`  no heap snapshot: V-Kube runs under its pod's memory limit (--machine-memory lifts it)`);
        } else {
          log(`  heap snapshot of V-Kube (SIGUSR2) into ${profileDir}`);
          v.signal('SIGUSR2');
          await new Promise((r) => setTimeout(r, 15_000));
        }
      }

      if (params.deployAt.includes(target)) {
        log(`  deploy-to-Running: ${params.deploys} deploys each way, alternating`);
        const round = await stage(`deploys at ${target}`, () =>
          measureDeploys({ vk: v, kube: access, watch: w, templateOrder: orders[0]!, atPods: target, count: params.deploys, round: deploys.length, region: BENCH_REGION, image, pids: deployPids, log }),
        );
        abortedOrders += params.deploys;
        deploys.push(round);
        log(`  median deploy-to-Running: V-Kube ${round.vkube.runningMedianMs} ms, direct ${round.direct.runningMedianMs} ms (${round.ratio}×)`);
        await new Promise((r) => setTimeout(r, 5000));
      }
    }

    let twoClusters: TwoClusterRound | undefined;
    if (params.twoClusters && orders.length > 0) {
      log(`two clusters against one: the reads again on ${orders.length} pods, V-Kube started afresh each time`);
      twoClusters = await stage('two clusters', () =>
        measureTwoClusters({
          vkube: { runtime, dir: c.dir, kubeconfig: c.kubeconfig, logFile: join(OUT_DIR, 'vkube.log'), logLevel: params.logLevel, ...asInPod },
          reads: {
            kube: access,
            orders,
            region: BENCH_REGION,
            regionLabel: REGION_LABEL,
            concurrency: params.concurrency,
            warmupMs: params.warmupMs,
            durationMs: params.phaseMs,
            rounds: params.rounds,
            seed: params.seed + orders.length,
            log,
          },
          planePids: Object.fromEntries(Object.entries(pids).filter(([name]) => name !== 'vkube')),
          portBase: params.secondPortBase ?? params.portBase + 100,
          outDir: OUT_DIR,
          log,
          current: v,
          setCurrent: (next) => (vk = next),
          teardown,
        }),
      );
      const [one, two] = [twoClusters.one.reads, twoClusters.two.reads];
      log(
        `  status p50/p99 ${one.status.latency.p50Ms}/${one.status.latency.p99Ms} → ${two.status.latency.p50Ms}/${two.status.latency.p99Ms} ms, ` +
          `${one.status.throughput} → ${two.status.throughput} req/s; checkports p50/p99 ${one.checkports.latency.p50Ms}/${one.checkports.latency.p99Ms} → ` +
          `${two.checkports.latency.p50Ms}/${two.checkports.latency.p99Ms} ms, ${one.checkports.throughput} → ${two.checkports.throughput} req/s`,
      );
    }

    const targets = evaluateTargets(scales, deploys, realDeploys, exec, memoryAtStart);
    const finishedAt = new Date();
    const run: RunResult = {
      mode: params.mode,
      startedAt: new Date(t0).toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationSeconds: Math.round((finishedAt.getTime() - t0) / 1000),
      stages,
      machine: { ...machine, loadAverageAtEnd: loadAverageNow() },
      versions,
      parameters: { ...params, image, vkubeStartSeconds: Math.round(v.startMs / 100) / 10, clusterUpSeconds: Math.round(c.upMs / 100) / 10 },
      memoryAtStart,
      scales,
      deploys,
      ...(realDeploys ? { realDeploys } : {}),
      ...(exec ? { exec } : {}),
      ...(twoClusters ? { twoClusters } : {}),
      targets,
      notes,
    };
    const files = await writeReport(OUT_DIR, run, findingsFor(run));
    log('targets:');
    for (const t of targets) log(`  ${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.measured} — ${t.margin}`);
    log(`report: ${files.md} and ${files.json} (run took ${Math.round(run.durationSeconds / 6) / 10} min)`);
  } finally {
    await teardown.run();
    if (cluster && params.keepCluster) {
      log(`leaving the bench cluster running: VKUBE_CLUSTER_DIR=${cluster.stateDir} VKUBE_CLUSTER_PORT_BASE=${params.portBase} npm run cluster:down`);
    }
  }
}

main().then(
  // Keep-alive sockets and the like must not hold the process open once all is down.
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error('bench failed:', err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
