/**
 * The benchmark's parameters: the full run, `--quick`, and the flags that override
 * either. Everything that shapes a figure is here, and goes into the report.
 */

export interface Params {
  mode: 'full' | 'quick';
  /** Pod (and order) counts measured, in increasing order. */
  scales: number[];
  /** Requests in flight during every load phase, V-Kube and kube-apiserver alike. */
  concurrency: number;
  /** Measured part of each load phase (all its rounds together). */
  phaseMs: number;
  /** Rounds each phase's measured time is split into, interleaved with the other phases. */
  rounds: number;
  /** Unmeasured lead-in of each load phase (connections opened, JIT warm). */
  warmupMs: number;
  /** Deploys timed per side (V-Kube and direct) in each deploy-latency round. */
  deploys: number;
  /** Scales (pod counts) at which deploy-to-Running is measured. */
  deployAt: number[];
  /** Deploys timed per side on the real node (real containers, image already pulled); 0: none. */
  realDeploys: number;
  /** One-shot execs and interactive sessions timed into the real node's container (0: none). */
  execSamples: number;
  /** At the end, the reads again with one cluster and with a second beside it (several clusters). */
  twoClusters: boolean;
  /** Orders created and deployed at once while populating. */
  populateParallel: number;
  /** Fake nodes of the bench region, and the pods each takes. */
  benchNodes: number;
  podsPerNode: number;
  /** First port of the bench cluster's block (apiserver; etcd, … follow). */
  portBase: number;
  /** First port of the second cluster's block (the reads with two clusters); default portBase + 100. */
  secondPortBase?: number;
  /** V-Kube's LOG_LEVEL. */
  logLevel: string;
  /** How V-Kube runs: compiled (`dist`, as production) or through tsx (as in development). */
  runtime: 'dist' | 'tsx';
  /** Run V-Kube with --cpu-prof and take a heap snapshot at the largest scale. */
  profile: boolean;
  /** Pause the real node's NetworkPolicy enforcer after its phases (the kwok phases' pods are not on its node). */
  pauseEnforcer: boolean;
  /** Leave the bench cluster running at the end (prints its directory). */
  keepCluster: boolean;
  /**
   * Run V-Kube as in its pod: its manifest's memory limit and NODE_OPTIONS (bench/memory-limit.ts).
   * The default: the memory a provider pays for is what V-Kube holds under its limit.
   */
  asInPod: boolean;
  seed: number;
}

const FULL: Params = {
  mode: 'full',
  scales: [100, 1000, 5000],
  concurrency: 32,
  phaseMs: 15_000,
  rounds: 3,
  warmupMs: 2_000,
  deploys: 20,
  deployAt: [100, 5000],
  realDeploys: 20,
  execSamples: 100,
  twoClusters: true,
  populateParallel: 32,
  benchNodes: 50,
  podsPerNode: 120,
  // Below Linux's ephemeral range (32768-60999), so no client socket can hold one of them.
  portBase: 28443,
  logLevel: 'warn',
  runtime: 'dist',
  profile: false,
  pauseEnforcer: true,
  keepCluster: false,
  asInPod: true,
  seed: 20240601,
};

const QUICK: Params = {
  ...FULL,
  mode: 'quick',
  scales: [100, 500],
  phaseMs: 6_000,
  rounds: 2,
  warmupMs: 1_000,
  deploys: 5,
  deployAt: [100],
  realDeploys: 5,
  execSamples: 30,
  twoClusters: true,
  benchNodes: 10,
};

const USAGE = `usage: npm run bench -- [--quick] [options]
  --quick                 100 and 500 pods, 6 s load phases, 5 deploys per side (a few minutes)
  --scales 100,1000,5000  pod counts to measure
  --concurrency 32        requests in flight in every load phase
  --duration 15           seconds measured per load phase (all rounds)
  --rounds 3              rounds per phase, interleaved with the other phases
  --warmup 2              unmeasured seconds before each load phase
  --deploys 20            deploys timed per side in each deploy-latency round
  --deploy-at 100,5000    pod counts at which deploy-to-Running is timed
  --real-deploys 20       deploys timed per side on the real node (0: none)
  --exec 100              one-shot execs and interactive sessions timed into a real container (0: none)
  --no-two-clusters       skip the reads with a second cluster beside the bench cluster
  --nodes 50              fake nodes in the bench region (120 pods each)
  --port-base 28443       first port of the bench cluster (7 consecutive ports)
  --second-port-base N    first port of the second cluster (default: port base + 100)
  --log-level warn        V-Kube's LOG_LEVEL (info logs every request)
  --runtime dist          dist: V-Kube compiled to JavaScript, as production runs it; tsx: its sources through tsx
  --profile               CPU profile of V-Kube into bench/out/profiles, and a heap snapshot at the largest scale (only with --machine-memory)
  --keep-enforcer         leave the real node's NetworkPolicy enforcer running through the kwok phases
  --keep-cluster          leave the bench cluster running afterwards
  --as-in-pod             run V-Kube under its manifest's memory limit and NODE_OPTIONS, as in its pod (the default)
  --machine-memory        run V-Kube on the machine's memory instead, without a limit (as reports before December 2026 did)`;

export function parseParams(argv: string[]): Params {
  const quick = argv.includes('--quick');
  const p: Params = { ...(quick ? QUICK : FULL) };
  const list = (v: string) => v.split(',').map((s) => positiveInt(s, v)).sort((a, b) => a - b);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--quick':
        break;
      case '--scales':
        p.scales = list(value());
        break;
      case '--concurrency':
        p.concurrency = positiveInt(value(), flag);
        break;
      case '--duration':
        p.phaseMs = positiveInt(value(), flag) * 1000;
        break;
      case '--rounds':
        p.rounds = positiveInt(value(), flag);
        break;
      case '--warmup':
        p.warmupMs = Number(value()) * 1000;
        break;
      case '--deploys':
        p.deploys = positiveInt(value(), flag);
        break;
      case '--deploy-at':
        p.deployAt = list(value());
        break;
      case '--real-deploys': {
        const v = value();
        p.realDeploys = v === '0' ? 0 : positiveInt(v, flag);
        break;
      }
      case '--no-two-clusters':
        p.twoClusters = false;
        break;
      case '--exec': {
        const v = value();
        p.execSamples = v === '0' ? 0 : positiveInt(v, flag);
        break;
      }
      case '--nodes':
        p.benchNodes = positiveInt(value(), flag);
        break;
      case '--port-base':
        p.portBase = positiveInt(value(), flag);
        break;
      case '--second-port-base':
        p.secondPortBase = positiveInt(value(), flag);
        break;
      case '--log-level':
        p.logLevel = value();
        break;
      case '--runtime': {
        const v = value();
        if (v !== 'dist' && v !== 'tsx') throw new Error(`--runtime: dist or tsx, not ${v}`);
        p.runtime = v;
        break;
      }
      case '--profile':
        p.profile = true;
        break;
      case '--keep-enforcer':
        p.pauseEnforcer = false;
        break;
      case '--keep-cluster':
        p.keepCluster = true;
        break;
      case '--as-in-pod':
        p.asInPod = true;
        break;
      case '--machine-memory':
        p.asInPod = false;
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  p.deployAt = p.deployAt.filter((n) => p.scales.includes(n));
  const top = p.scales[p.scales.length - 1] ?? 0;
  // Room for the largest scale plus the pods the deploy rounds add for a while.
  const needed = top + 2 * p.deploys + 10;
  if (p.benchNodes * p.podsPerNode < needed) p.benchNodes = Math.ceil(needed / p.podsPerNode);
  if (top > 9_000) throw new Error('at most 9,000 pods: every bench pod holds its own host port in 20000-28999');
  return p;
}

function positiveInt(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: "${text}" is not a positive integer`);
  return n;
}
