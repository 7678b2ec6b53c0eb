/** Writes a run's results as bench/out/report.json and a readable bench/out/report.md. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DeployRound, type DeploySide, cpuPerDeploy } from './deploys.js';
import type { LoadResult } from './load.js';
import { cpuLine } from './reads.js';
import type { RunResult, ScaleResult } from './results.js';
import { round } from './stats.js';
import { memoryGrowth } from './targets.js';

export async function writeReport(dir: string, run: RunResult, findings: string[]): Promise<{ md: string; json: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'report.json');
  const md = join(dir, 'report.md');
  await writeFile(json, `${JSON.stringify(run, null, 2)}\n`);
  await writeFile(md, renderMarkdown(run, findings));
  return { md, json };
}

export function renderMarkdown(run: RunResult, findings: string[]): string {
  const m = run.machine;
  const v = run.versions;
  const p = run.parameters;
  const lines: string[] = [];
  const table = (head: string[], rows: Array<Array<string | number>>) => {
    lines.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
    for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
    lines.push('');
  };

  lines.push(`# V-Kube benchmark (${run.mode} run)`, '');
  lines.push(`Started ${run.startedAt}, finished ${run.finishedAt}: **${minutes(run.durationSeconds)}** in all.`, '');
  lines.push('Stages: ' + Object.entries(run.stages).map(([k, s]) => `${k} ${minutes(s)}`).join(' · '), '');

  lines.push('## Machine and versions', '');
  table(
    ['', ''],
    [
      ['CPU', `${m.cpuModel}, ${m.cores} cores`],
      ['Memory', `${m.memoryGiB} GiB`],
      ['OS / kernel', `${m.os} / Linux ${m.kernel}`],
      ['Node.js', m.node],
      ['Load average (1 min) at start / end', `${m.loadAverageAtStart} / ${m.loadAverageAtEnd}`],
      ['Kubernetes / etcd / kwok', `${v.kubernetes} / ${v.etcd} / ${v.kwok}`],
      [
        'V-Kube commit',
        `\`${v.vkubeCommit}\`${v.vkubeUncommittedFiles ? ` + ${v.vkubeUncommittedFiles} uncommitted file(s), diff digest \`${v.vkubeDiffDigest}\` (the working tree was measured)` : ''}`,
      ],
    ],
  );
  lines.push(
    'Everything runs on this one machine: the load generator (this process), V-Kube (one Node.js process), and the ' +
      'local control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok with fake nodes). They share the cores; ' +
      'the CPU columns below show who was busy.',
    '',
  );

  lines.push('## Parameters', '');
  table(
    ['', ''],
    [
      ['Scales (bench pods = orders)', p.scales.join(', ')],
      ['Concurrency (requests in flight, both sides)', p.concurrency],
      ['Load phase', `${p.warmupMs / 1000} s warm-up + ${p.phaseMs / 1000} s measured`],
      ['Deploys timed per side per round', `${p.deploys} (at ${p.deployAt.join(', ')} pods)`],
      ['Bench region', `${p.benchNodes} kwok nodes × ${p.podsPerNode} pods, plus regions ausrine (1 node) and giltine (2)`],
      ['Populating', `${p.populateParallel} orders created and deployed at once`],
      [
        'V-Kube',
        `${p.runtime === 'dist' ? 'compiled to JavaScript (`node dist/src/main.js`, as production)' : 'TypeScript through tsx (`node --import tsx src/main.ts`)'}, ` +
          `SQLite, LOG_LEVEL=${p.logLevel}, rate limits off, leader election off, started in ${p.vkubeStartSeconds} s`,
      ],
      ['Image', `\`${p.image}\` (pushed to a local docker-registry on loopback before the run)`],
      ['Cluster', `own state dir and ports ${p.portBase}–${p.portBase + 6}, up in ${p.clusterUpSeconds} s`],
    ],
  );

  lines.push('## Targets', '');
  table(
    ['Target', 'Measured', 'Met?', 'Margin'],
    run.targets.map((t) => [t.target, t.measured, t.met ? '**met**' : '**missed**', t.margin]),
  );

  lines.push('## 1. V-Kube against direct kube-apiserver reads', '');
  lines.push(
    '`status` is `GET /api/v1/k8s/pod/status` (V-Kube answers from its watch cache); `direct status` lists the order\'s pods by label in its namespace ' +
      'and takes the newest. `checkports` is `POST /api/v1/k8s/checkports` for the bench region; `direct checkports` lists the region\'s nodes by label, ' +
      'then every node\'s pods (field selector `spec.nodeName`, in parallel over the same pool), and collects their host ports. ' +
      'One direct checkports is therefore 1 + nodes requests. Each phase was measured in ' +
      `${run.parameters.rounds} round(s), interleaved with the other phases, and the rounds merged. CPU is % of one core over the measured windows; "other" is what the rest of the ` +
      'machine used meanwhile (anything not part of this benchmark). "Server CPU per request" is V-Kube\'s CPU time per answered request, or ' +
      'kube-apiserver\'s + etcd\'s for the direct reads: unlike req/s it does not depend on who else wanted the cores. The event-loop lag ' +
      'comes from V-Kube\'s /metrics (longest stall of its event loop in the window).',
    '',
  );
  for (const s of run.scales) {
    lines.push(`### ${s.pods} pods`, '');
    table(
      ['Route', 'req/s', 'p50', 'p90', 'p99', 'max', 'errors', 'server CPU per request', 'V-Kube event-loop lag max', 'CPU (% of a core)'],
      (['healthz', 'status', 'direct status', 'checkports', 'direct checkports'] as const).map((name) => row(name, s.reads[name])),
    );
    const st = s.reads.status;
    const dst = s.reads['direct status'];
    const cp = s.reads.checkports;
    const dcp = s.reads['direct checkports'];
    lines.push(
      `- status: p50 ${ratio(st.latency.p50Ms, dst.latency.p50Ms)} of direct, p99 ${ratio(st.latency.p99Ms, dst.latency.p99Ms)}, throughput ${ratio(st.throughput, dst.throughput)}.`,
      `- checkports: p50 ${ratio(cp.latency.p50Ms, dcp.latency.p50Ms)} of direct, p99 ${ratio(cp.latency.p99Ms, dcp.latency.p99Ms)}, throughput ${ratio(cp.throughput, dcp.throughput)}.`,
      ...(s.cpuAtRest
        ? [
            `- at rest (${Math.round((s.cpuAtRest.window.end - s.cpuAtRest.window.start) / 1000)} s without load, after the reads): V-Kube ${s.cpuAtRest.cpu.vkube ?? '?'}% of a core — ` +
              `the population's background work, which every phase's server CPU per request above carries too (${cpuLine(s.cpuAtRest.cpu) || 'nothing over 1%'}).`,
          ]
        : []),
      '',
    );
  }

  lines.push('## 2. Growth from the smallest to the largest scale', '');
  table(
    ['Pods', 'status req/s', 'status p50', 'status p99', 'checkports req/s', 'checkports p50', 'checkports p99', 'direct status p50', 'direct checkports p50', 'V-Kube RSS'],
    run.scales.map((s) => [
      s.pods,
      s.reads.status.throughput,
      ms(s.reads.status.latency.p50Ms),
      ms(s.reads.status.latency.p99Ms),
      s.reads.checkports.throughput,
      ms(s.reads.checkports.latency.p50Ms),
      ms(s.reads.checkports.latency.p99Ms),
      ms(s.reads['direct status'].latency.p50Ms),
      ms(s.reads['direct checkports'].latency.p50Ms),
      s.memoryAfterReads ? `${s.memoryAfterReads.rssMiB} MiB` : '?',
    ]),
  );
  const a = run.scales[0];
  const b = run.scales[run.scales.length - 1];
  if (a && b && a !== b) {
    const grow = (x: number, y: number) => `${round(y / x)}×`;
    lines.push(
      `From ${a.pods} to ${b.pods} pods (${round(b.pods / a.pods)}× the pods): status p99 ${grow(a.reads.status.latency.p99Ms, b.reads.status.latency.p99Ms)}, ` +
        `throughput ${grow(a.reads.status.throughput, b.reads.status.throughput)}; checkports p99 ${grow(a.reads.checkports.latency.p99Ms, b.reads.checkports.latency.p99Ms)}, ` +
        `throughput ${grow(a.reads.checkports.throughput, b.reads.checkports.throughput)}; RSS ${grow(a.memoryAfterReads?.rssMiB ?? NaN, b.memoryAfterReads?.rssMiB ?? NaN)}.`,
      '',
    );
  }
  table(
    ['Pods', 'created', 'deploy calls took', 'all Running after'],
    run.scales.map((s) => [s.pods, s.populate.created, `${s.populate.deploySeconds} s`, `${s.populate.runningSeconds} s`]),
  );

  lines.push('## 3. Deploy-to-Running', '');
  lines.push(
    'V-Kube: `POST /api/v1/k8s/deploy` for an order sold beforehand (its namespace and isolation made at sale, as a customer meets it), then ' +
      '`GET /k8s/pod/status?wait=Running`, which V-Kube answers from its pod watch. ' +
      'Direct: create a namespace and the same Deployment V-Kube makes (copied from the cluster, relabelled) in kube-apiserver, then wait for ' +
      'a pod watch to report it Running. The two alternate, one at a time. "watch" is when the bench\'s own pod watch saw the pod Running (same yardstick for both).',
    '',
  );
  const deployRow = (atPods: number | string, name: string, d: DeploySide, ratioText: string) => [
    atPods,
    name,
    d.samples.length,
    ms(d.acceptedMedianMs),
    ms(d.podCreatedMedianMs),
    ms(d.podScheduledMedianMs),
    ms(d.watchMedianMs),
    ms(d.runningMedianMs),
    range(d.samples.map((x) => x.runningMs)),
    ratioText,
  ];
  table(
    ['At pods', 'Side', 'deploys', 'accepted', 'pod created', 'pod scheduled', 'watch saw Running', 'Running (as measured)', 'min–max Running', 'ratio'],
    run.deploys.flatMap((d) => [
      deployRow(d.atPods, 'V-Kube', d.vkube, `${round(d.ratio)}×`),
      deployRow(d.atPods, 'direct', d.direct, ''),
      deployRow(d.atPods, 'direct, isolated namespace', d.directIsolated, `(V-Kube ${round(d.vkube.runningMedianMs / d.directIsolated.runningMedianMs)}× this)`),
    ]),
  );
  lines.push(
    'All columns are medians in ms from the moment the deploy started. *accepted*: the deploy call (V-Kube) or the creates (direct) answered. ' +
      '*pod created* / *pod scheduled*: the bench\'s pod watch first saw the pod / saw it bound to a node. *Running (as measured)*: V-Kube by ' +
      'its status route\'s wait (`GET /k8s/pod/status?wait=Running`, answered from V-Kube\'s pod watch), direct by the watch.',
    '',
  );
  lines.push(
    '"direct, isolated namespace" creates only the Deployment, in a namespace made beforehand as V-Kube makes an order\'s at sale: labelled as ' +
      'V-Kube\'s (so the cluster\'s admission policies for tenant namespaces check its Deployment, ReplicaSet and Pod too), holding the same ' +
      'ResourceQuota, LimitRange and NetworkPolicy, the quota\'s usage already counted. V-Kube against it is V-Kube\'s own overhead; it against ' +
      '*direct* is what the isolation costs Kubernetes per pod.',
    '',
  );

  const cpuTable = (rounds: DeployRound[], atPods: (d: DeployRound) => number | string) => {
    const all = rounds.flatMap((r) => sidesOf(r).map(([, d]) => d));
    if (!all.some((d) => cpuPerDeploy(d))) return;
    // The processes that used at least 1 ms per deploy somewhere: the usual ones in a fixed
    // order (so reports compare column by column), others after them, heaviest first; the rest in one column.
    const weight = new Map<string, number>();
    for (const d of all) for (const [name, v] of Object.entries(d.cpuMsMean ?? {})) weight.set(name, Math.max(weight.get(name) ?? 0, v));
    const rank = (name: string) => (CPU_COLUMNS.includes(name) ? CPU_COLUMNS.indexOf(name) : CPU_COLUMNS.length);
    const shown = [...weight]
      .filter(([name, v]) => v >= 1 && name !== 'other')
      .sort((a, b) => rank(a[0]) - rank(b[0]) || b[1] - a[1])
      .map(([name]) => name);
    table(
      ['At pods', 'Side', 'machine CPU', 'cores busy', ...shown, 'everything else'],
      rounds.flatMap((r) =>
        sidesOf(r).map(([name, d]) => {
          const cpu = cpuPerDeploy(d);
          if (!cpu) return [atPods(r), name, '–', '–', ...shown.map(() => '–'), '–'];
          const rest = cpu.totalMs - shown.reduce((a, p) => a + (d.cpuMsMean[p] ?? 0), 0);
          return [atPods(r), name, ms(round(cpu.totalMs)), String(round(cpu.cores)), ...shown.map((p) => ms(d.cpuMsMean[p] ?? 0)), ms(round(rest))];
        }),
      ),
    );
    lines.push(
      'CPU per deploy, from its start until it was seen Running: the mean over the deploys, in ms, from /proc (10 ms ticks, so one deploy ' +
        'alone means little). *cores busy*: machine CPU over the mean time to Running. *load generator*: the bench itself; *everything else*: ' +
        'the other processes, the registry and whatever else ran on the machine.',
      '',
    );
  };
  cpuTable(run.deploys, (d) => d.atPods);

  if (run.realDeploys) {
    const r = run.realDeploys;
    lines.push(`### Real containers (region ${r.region}, the machine's own kubelet, containerd and runc)`, '');
    lines.push(
      'The same alternation on the real node: containers really start (busybox serving HTTP), the image already pulled by a warm-up deploy. ' +
        'p99 is the nearest rank, so with 20 deploys it is the slowest.',
      '',
    );
    const ratios = [`${round(r.ratio)}×`, '', `(V-Kube ${round(r.vkube.runningMedianMs / r.directIsolated.runningMedianMs)}× this)`];
    table(
      ['Side', 'deploys', 'accepted', 'pod scheduled', 'watch saw Running', 'Running (as measured)', 'p99 Running', 'min–max Running', 'ratio'],
      sidesOf(r).map(([name, d], i) => [name, d.samples.length, ms(d.acceptedMedianMs), ms(d.podScheduledMedianMs), ms(d.watchMedianMs), ms(d.runningMedianMs), ms(d.runningP99Ms), range(d.samples.map((x) => x.runningMs)), ratios[i]!]),
    );
    cpuTable([r], () => 'real node');
  }

  if (run.exec) {
    const e = run.exec;
    lines.push(`### Exec into a real container (region ${e.region})`, '');
    lines.push(
      `Through V-Kube, kube-apiserver (WebSocket, v5.channel.k8s.io), the kubelet, containerd and runc, one at a time into a busybox container of its own (${e.container}; ` +
        'an exec runs under the container\'s CPU limit, runc\'s init included, so a container with a few millicores makes every exec slow): ' +
        'a one-shot exec of `true` (request sent → answer with exit code 0 read) and an interactive `sh` with a terminal (WebSocket upgrade asked → its prompt on stdout).',
      '',
    );
    table(
      ['What', 'samples', 'p50', 'p90', 'p99', 'max'],
      [
        ['one-shot exec round trip', e.oneShot] as const,
        ['interactive first byte', e.shellFirstByte] as const,
      ].map(([name, s]) => [name, s.samples, ms(s.p50Ms), ms(s.p90Ms), ms(s.p99Ms), ms(s.maxMs)]),
    );
  }

  if (run.twoClusters) {
    const t = run.twoClusters;
    lines.push(`### Two clusters behind one V-Kube against one (${t.pods} pods)`, '');
    lines.push(
      `The same read phases on the same orders, V-Kube started afresh each time on the same database: with the bench cluster alone, then with a second, kwok-only cluster (region ${t.secondRegions.join(', ')}) beside it (\`VKUBE_KUBECONFIGS\`). ` +
        'The orders all live in the bench cluster; the second adds its caches, heartbeat and Lease, and the routing by region and namespace.',
      '',
    );
    table(
      ['Clusters', 'healthz req/s', 'status req/s', 'status p50', 'status p99', 'checkports req/s', 'checkports p50', 'checkports p99'],
      [t.one, t.two].map((x) => [
        x.clusters,
        x.reads.healthz.throughput,
        x.reads.status.throughput,
        ms(x.reads.status.latency.p50Ms),
        ms(x.reads.status.latency.p99Ms),
        x.reads.checkports.throughput,
        ms(x.reads.checkports.latency.p50Ms),
        ms(x.reads.checkports.latency.p99Ms),
      ]),
    );
  }

  lines.push('## 4. The status route against the server\'s ceiling (`GET /healthz`)', '');
  table(
    ['Pods', 'healthz req/s', 'status req/s', 'status / healthz', 'checkports req/s', 'checkports / healthz'],
    run.scales.map((s) => [
      s.pods,
      s.reads.healthz.throughput,
      s.reads.status.throughput,
      pctOf(s.reads.status.throughput, s.reads.healthz.throughput),
      s.reads.checkports.throughput,
      pctOf(s.reads.checkports.throughput, s.reads.healthz.throughput),
    ]),
  );

  lines.push('## 5. Memory (V-Kube resident set, /proc/<pid>/status)', '');
  table(
    ['Pods', 'orders in database', 'RSS after populating', 'RSS after the read phases', 'RSS 15 s later, without load', 'peak so far (VmHWM)', 'V8 heap used', 'V8 heap committed', 'outside the heap (Buffers)', 'C allocator heap'],
    [
      [0, 0, mib(run.memoryAtStart?.rssMiB), '', '', mib(run.memoryAtStart?.peakMiB), '', '', '', mib(run.memoryAtStart?.mallocHeapMiB)],
      ...run.scales.map((s) => [
        s.pods,
        s.ordersInDatabase,
        mib(s.memoryAfterPopulate?.rssMiB),
        mib(s.memoryAfterReads?.rssMiB),
        mib(s.memoryAtRest?.rssMiB),
        mib(s.memoryAfterReads?.peakMiB),
        mib(s.reads['direct checkports'].server.heapUsedMiB),
        mib(s.reads['direct checkports'].server.heapTotalMiB),
        mib(s.reads['direct checkports'].server.externalMiB),
        mib(s.memoryAfterReads?.mallocHeapMiB),
      ]),
    ],
  );
  const last = run.scales[run.scales.length - 1];
  const growth = memoryGrowth(run.scales, run.memoryAtStart);
  if (run.memoryAtStart && last?.memoryAfterReads && growth) {
    const grew = last.memoryAfterReads.rssMiB - run.memoryAtStart.rssMiB;
    lines.push(
      `V-Kube started at ${run.memoryAtStart.rssMiB} MiB with no orders and an empty bench region; with ${last.pods} pods and ` +
        `${last.ordersInDatabase} orders it held ${last.memoryAfterReads.rssMiB} MiB: ${round(grew)} MiB more` +
        (growth.from === 'scale'
          ? `. Between the smallest scale and this one, both right after their reads, it grew ${round(growth.toMiB - growth.fromMiB)} MiB: ` +
            `${round(growth.perThousand)} MiB per 1,000 pods+orders (the target's figure; counted from the start, before any load, ${round(growth.fromStartPerThousand ?? NaN)}: ` +
            'that also counts what the first load adds whatever the population, see bench/README.md).'
          : `, about ${round(growth.perThousand)} MiB per 1,000 pods+orders.`) +
        ` The start-up share is ${Math.round((run.memoryAtStart.rssMiB / last.memoryAfterReads.rssMiB) * 100)}% of it. (RSS moves with garbage collection; the V8 heap ` +
        `columns, from /metrics at the end of the last read phase, are steadier${last.memoryAtRest ? `; 15 s without load it held ${last.memoryAtRest.rssMiB} MiB` : ''}.)`,
      '',
    );
  }
  if (run.notes.length) {
    lines.push('## Notes from the run', '');
    for (const n of run.notes) lines.push(`- ${n}`);
    lines.push('');
  }
  if (findings.length) {
    lines.push('## Why targets were missed, and what to change', '');
    lines.push(...findings);
    if (lines[lines.length - 1] !== '') lines.push('');
  }
  lines.push('How to read this report: see `bench/README.md`. The raw figures (every phase, every deploy sample) are in `report.json`.', '');
  return lines.join('\n');
}

function row(name: string, r: LoadResult): Array<string | number> {
  const l = r.latency;
  const sv = r.server;
  const passes = sv.reconcilePasses ? ` (${sv.reconcilePasses} reconcile pass${sv.reconcilePasses > 1 ? 'es' : ''}, ~${sv.reconcilePassMeanMs} ms)` : '';
  return [
    name,
    r.throughput,
    ms(l.p50Ms),
    ms(l.p90Ms),
    ms(l.p99Ms),
    ms(l.maxMs),
    r.errors ? `${r.errors} (${r.errorSamples[0] ?? ''})` : 0,
    sv.cpuMsPerRequest !== undefined ? `${sv.cpuMsPerRequest} ms` : '–',
    sv.eventLoopLagMaxMs !== undefined ? `${sv.eventLoopLagMaxMs} ms${passes}` : '–',
    cpuLine(r.cpu),
  ];
}

/** A round's three sides, named as the report names them. */
function sidesOf(d: DeployRound): Array<[string, DeploySide]> {
  return [
    ['V-Kube', d.vkube],
    ['direct', d.direct],
    ['direct, isolated namespace', d.directIsolated],
  ];
}

/** The processes of a deploy's CPU table, in this order when they appear. */
const CPU_COLUMNS = ['vkube', 'kube-apiserver', 'etcd', 'kube-controller-manager', 'kube-scheduler', 'kwok', 'kubelet', 'containerd', 'load generator'];

function ms(x: number): string {
  return Number.isFinite(x) ? `${x} ms` : '–';
}

function mib(x: number | undefined): string {
  return x === undefined ? '?' : `${x} MiB`;
}

function ratio(a: number, b: number): string {
  return `${round(a / b)}×`;
}

function pctOf(a: number, b: number): string {
  return `${Math.round((a / b) * 100)}%`;
}

function range(xs: number[]): string {
  return xs.length ? `${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))} ms` : '–';
}

function minutes(s: number): string {
  if (s < 90) return `${Math.round(s)} s`;
  return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
}

export type { ScaleResult };
