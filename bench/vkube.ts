/**
 * V-Kube as a real process against the bench cluster, with SQLite in the bench's
 * temporary directory and rate limits off; plus the admin and tenant calls the
 * benchmark makes through it.
 *
 * It runs as production does, compiled to JavaScript (`node dist/src/main.js`): the
 * benchmark compiles `src/` into bench/out/vkube-dist (never touching the repository's
 * dist/). `--runtime tsx` runs the TypeScript sources through tsx instead, as in
 * development (tsx's loader costs some 90 MiB of memory).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { repoRoot } from '../dev/cluster/config.js';
import { freeLoopbackPort } from '../dev/free-port.js';
import { type Endpoint, call, endpoint, request } from './http.js';
import { type Memory, memoryOf } from './proc.js';
import { memoryLimit } from './memory-limit.js';

export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';

export type Runtime = 'dist' | 'tsx';

/** V-Kube processes this benchmark started and that still run: an interrupted start must not leave one behind. */
const started = new Set<ChildProcess>();

/** SIGKILLs every V-Kube process this benchmark started that is still running. */
export function killStartedVkubes(): void {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Compiles src/ to `<outDir>/vkube-dist` (incrementally); returns the path of main.js. */
export async function buildVkube(outDir: string): Promise<{ main: string; ms: number; diagnostics: number }> {
  const started = Date.now();
  const config = join(outDir, 'tsconfig.vkube.json');
  await writeFile(
    config,
    JSON.stringify({
      extends: relative(outDir, join(repoRoot, 'tsconfig.json')),
      compilerOptions: { noEmit: false, outDir: './vkube-dist', rootDir: relative(outDir, repoRoot), sourceMap: false, incremental: true, tsBuildInfoFile: './vkube-dist/.tsbuildinfo' },
      include: [relative(outDir, join(repoRoot, 'src'))],
    }),
  );
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  // tsc emits even when the sources have type errors (others may be mid-edit); count them.
  const output = await new Promise<string>((resolve) =>
    execFile(process.execPath, [tsc, '-p', config], { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 }, (_err, stdout) => resolve(String(stdout))),
  );
  const diagnostics = output.split('\n').filter((l) => /error TS\d+/.test(l)).length;
  return { main: join(outDir, 'vkube-dist', 'src', 'main.js'), ms: Date.now() - started, diagnostics };
}

export interface VkubeOptions {
  /** `dist`: this compiled main.js; `tsx`: src/main.ts through tsx. */
  runtime: { kind: 'dist'; main: string } | { kind: 'tsx' };
  dir: string;
  kubeconfig: string;
  logFile: string;
  logLevel: string;
  /** Extra flags for node (profiling: --cpu-prof is not allowed in NODE_OPTIONS). */
  nodeFlags?: string[];
  /** Extra environment (e.g. VKUBE_KUBECONFIGS for several clusters). */
  env?: Record<string, string>;
  /** Run as in its pod: under its memory limit, with its NODE_OPTIONS (bench/memory-limit.ts); none: on the machine's memory. */
  asInPod?: { memoryLimitBytes: number; nodeOptions: string[] };
}

export interface Vkube {
  url: string;
  pid: number;
  startMs: number;
  /** How its memory is limited (as in its pod), for the report; undefined: not at all. */
  memoryLimit: string | undefined;
  /** A pool for control calls (orders, deploys, polls), apart from the load phases' pools. */
  control: Endpoint;
  memory(): Memory | undefined;
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM (V-Kube shuts down, a CPU profile is written), SIGKILL after `graceMs` (default 30 s). */
  stop(graceMs?: number): Promise<void>;
}

let limitsMade = 0;

export async function startVkube(opts: VkubeOptions): Promise<Vkube> {
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const out = openSync(opts.logFile, 'w');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: `sqlite:${join(opts.dir, 'vkube.db')}`,
    KUBECONFIG: opts.kubeconfig,
    VKUBE_ADMIN_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: opts.logLevel,
    VKUBE_RATE_LIMIT_RPS: '0',
    VKUBE_LOCKOUT_FAILURES: '0',
    // One replica: it leads anyway; without the election the loop starts at once.
    VKUBE_LEADER_ELECTION: 'false',
    // The image of the real-node deploys is in the bench cluster's own registry, on
    // loopback: image checks contact such an address only when allowed.
    VKUBE_PRIVATE_REGISTRIES: '127.0.0.1',
    ...(opts.asInPod?.nodeOptions.length ? { NODE_OPTIONS: opts.asInPod.nodeOptions.join(' ') } : {}),
    ...opts.env,
  };
  const limit = opts.asInPod && memoryLimit(opts.asInPod.memoryLimitBytes, `vkube-bench-${process.pid}-${++limitsMade}`);
  const argv = [process.execPath, ...(limit?.nodeFlags ?? []), ...(opts.nodeFlags ?? []), ...(opts.runtime.kind === 'dist' ? [opts.runtime.main] : ['--import', 'tsx', 'src/main.ts'])];
  const [command, ...args] = limit ? limit.wrap(argv) : argv;
  const startedAt = Date.now();
  // Under a cgroup, a shell joins it and execs node: the child's pid is V-Kube's.
  const child: ChildProcess = spawn(command!, args, { cwd: repoRoot, env, stdio: ['ignore', out, out] });
  closeSync(out);
  started.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => (started.delete(child), limit?.release(), resolve())));

  const control = endpoint(url, 64);
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`V-Kube exited with ${child.exitCode}; see ${opts.logFile}`);
    const ready = await request(control, 'GET', '/readyz', { timeoutMs: 2000 }).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`V-Kube did not become ready in 90 s; see ${opts.logFile}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url,
    pid: child.pid!,
    memoryLimit: limit && `${limit.how}${opts.asInPod?.nodeOptions.length ? `, NODE_OPTIONS ${opts.asInPod.nodeOptions.join(' ')}` : ''}`,
    startMs: Date.now() - startedAt,
    control,
    memory: () => memoryOf(child.pid!),
    signal: (sig) => child.kill(sig),
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface Order {
  id: string;
  secret: string;
  namespace: string;
  hostPort: number;
}

export async function createOrder(vk: Vkube, region: string, hostPort: number): Promise<Order> {
  const res = await call<{ secret: string; order: { id: string } }>(vk.control, 'POST', '/api/v1/admin/orders', {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    // 30 days: no expiry notices or teardown during the run.
    body: { duration: 720, serviceOptions: { region, resourceUnit: '1-Unit-Resource', portSpecification: 'User Specified Service Port' } },
  });
  return { id: res.order.id, secret: res.secret, namespace: `vkube-${res.order.id}`, hostPort };
}

/** The seed's deploy call: one container, one host port, 64Mi. */
export function deployBody(region: string, image: string, hostPort: number): unknown {
  return {
    nodeSelector: { region },
    containers: [{ name: 'app', imageName: image, ports: [{ containerPort: 8080, hostPort }], resource: { memory: '64Mi' } }],
  };
}

export async function deploy(vk: Vkube, order: Order, region: string, image: string): Promise<void> {
  await call(vk.control, 'POST', '/api/v1/k8s/deploy', { headers: { secret: order.secret }, body: deployBody(region, image, order.hostPort), timeoutMs: 120_000 });
}

export async function abortOrder(vk: Vkube, order: Order): Promise<void> {
  await call(vk.control, 'POST', `/api/v1/admin/orders/${order.id}/abort`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
}
