/**
 * Everything a bench run starts on the machine, and taking it all down: at the end, on
 * an error, and on Ctrl-C alike. Each thing is registered the moment it starts (a
 * cluster still starting included), so no path out of the run leaves one behind:
 * - V-Kube processes first (they talk to the clusters), then every cluster at once,
 *   then the rest (the registry);
 * - a cluster's control plane is thrown away, not shut down gently: its kube-apiserver,
 *   etcd, kwok and controllers are killed at once (the state directory goes with them),
 *   where `cluster:down` gives each 10 s in turn, and a control plane busy with thousands
 *   of pods takes them all; then `cluster:down` takes the real node apart as always
 *   (its kubelet, containers, network and mounts need their own care) and checks the
 *   ports are free;
 * - interrupted (Ctrl-C), V-Kube gets a short grace: the run's load is still going.
 *   A second Ctrl-C kills whatever is left at once and says what it could not clean.
 */
import { isAlive, readRecords } from '../dev/cluster/processes.js';
import { NETWORK_POLICY_PROCESS } from '../dev/cluster/real-node/network-policy.js';

/** The real node's daemons: `cluster:down` stops them itself, with what they leave on the machine. */
const STOPPED_BY_DOWN = new Set(['kubelet', 'containerd', NETWORK_POLICY_PROCESS]);

type Phase = 'vkube' | 'cluster' | 'other';
const PHASES: readonly Phase[] = ['vkube', 'cluster', 'other'];

interface Step {
  name: string;
  phase: Phase;
  /** `interrupted`: a signal asked for it, while the run still goes on. */
  stop(interrupted: boolean): Promise<void>;
  /** A local cluster's state directory, for the second Ctrl-C. */
  clusterDir?: string;
}

/** A registered thing: `stop()` takes it down now (once) and forgets it. */
export interface Registered {
  stop(): Promise<void>;
}

export class Teardown {
  private readonly steps = new Map<Step, Promise<void> | undefined>();
  private running: Promise<void> | undefined;

  constructor(private readonly log: (line: string) => void) {}

  /** Registers something to stop at the end (or now, through what it returns). */
  add(step: Step): Registered {
    this.steps.set(step, undefined);
    return { stop: () => this.stopStep(step, false) };
  }

  /**
   * A local cluster, registered while it starts: taken down once its start has finished
   * (a start that fails takes down what it started itself). `stateDir` is where its
   * processes are recorded (its VKUBE_CLUSTER_DIR).
   */
  cluster<C>(name: string, starting: Promise<C>, stateDir: (cluster: C) => string, stop: (cluster: C) => Promise<void>): Registered {
    let dir: string | undefined;
    void starting.then((c) => (dir = stateDir(c)), () => undefined);
    return this.add({
      name,
      phase: 'cluster',
      get clusterDir() {
        return dir;
      },
      stop: async () => {
        const cluster = await starting.catch(() => undefined);
        if (cluster === undefined) return;
        await killControlPlane(stateDir(cluster));
        await stop(cluster);
      },
    });
  }

  /** Stops everything registered, once, however often it is called. */
  run(interrupted = false): Promise<void> {
    return (this.running ??= (async () => {
      for (const phase of PHASES) await Promise.all([...this.steps.keys()].filter((s) => s.phase === phase).map((s) => this.stopStep(s, interrupted)));
    })());
  }

  private stopStep(step: Step, interrupted: boolean): Promise<void> {
    if (!this.steps.has(step)) return Promise.resolve();
    let stopping = this.steps.get(step);
    if (!stopping) {
      stopping = (async () => {
        const started = Date.now();
        this.log(`stopping ${step.name}`);
        try {
          await step.stop(interrupted);
          this.log(`  stopped ${step.name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        } catch (err) {
          this.log(`  could not stop ${step.name}: ${(err as Error).message}`);
        }
        this.steps.delete(step);
      })();
      this.steps.set(step, stopping);
    }
    return stopping;
  }

  /** The second Ctrl-C: every recorded process of every cluster killed now; names what stays behind. */
  async killNow(): Promise<void> {
    for (const s of this.steps.keys()) {
      const dir = s.clusterDir;
      if (!dir) continue;
      await killControlPlane(dir, { realNodeToo: true });
      this.log(`  killed the processes of ${s.name}; its real node (network, mounts, cgroups) and ${dir} may remain: VKUBE_CLUSTER_DIR=${dir} npm run cluster:down`);
    }
  }
}

/**
 * SIGKILL to every process the cluster in `stateDir` recorded but the real node's
 * daemons (unless `realNodeToo`), all at once; resolves when they are gone (at most a
 * few seconds: a killed process only waits to be reaped).
 */
export async function killControlPlane(stateDir: string, opts: { realNodeToo?: boolean } = {}): Promise<void> {
  const records = (await readRecords(stateDir)).filter((r) => (opts.realNodeToo || !STOPPED_BY_DOWN.has(r.name)) && isAlive(r));
  for (const r of records) {
    try {
      process.kill(r.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + 10_000;
  while (records.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
