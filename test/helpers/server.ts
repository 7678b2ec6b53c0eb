/**
 * A real V-Kube process for end-to-end tests (CLI, console): `src/main.ts` on a free
 * loopback port, with its own SQLite file, the local cluster and an admin token.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../dev/cluster/config.js';
import { vkubeKubeconfig } from '../../dev/cluster/testing.js';
import { freeLoopbackPort } from '../../dev/free-port.js';
import { OFFLINE_DOCKER_HUB, TEST_REGISTRIES } from './offline.js';

export interface ServerProcess {
  url: string;
  adminToken: string;
  /** The SQLite file (kept by `kill`, so a restart finds the same data). */
  databaseFile: string;
  pid: number;
  /** Creates an order through the admin API; returns its id, secret and the clients' token. */
  createOrder(body?: Record<string, unknown>): Promise<{ id: string; secret: string; token: string }>;
  /** Everything the process printed, for failure messages. */
  output(): string;
  stop(): Promise<void>;
  /** SIGKILL: no shutdown at all, as in a crash. The database file stays. */
  kill(): Promise<void>;
  /** Starts a new process on the same port and database. */
  restart(): Promise<ServerProcess>;
}

export interface ServerOptions {
  env?: Record<string, string>;
  /** Reuse this directory (its vkube.db) and port: a restart after a crash. */
  reuse?: { dir: string; port: number };
}

export async function startServerProcess(envOrOptions: Record<string, string> | ServerOptions = {}): Promise<ServerProcess> {
  const opts: ServerOptions = 'env' in envOrOptions || 'reuse' in envOrOptions ? (envOrOptions as ServerOptions) : { env: envOrOptions as Record<string, string> };
  const env = opts.env ?? {};
  const dir = opts.reuse?.dir ?? (await mkdtemp(join(tmpdir(), 'vkube-server-')));
  const port = opts.reuse?.port ?? (await freeLoopbackPort());
  const kubeconfig = await vkubeKubeconfig();
  const adminToken = 'e2e-admin-token-0123456789';
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: repoRoot,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: `sqlite:${join(dir, 'vkube.db')}`,
      KUBECONFIG: kubeconfig,
      VKUBE_ADMIN_TOKEN: adminToken,
      LOG_LEVEL: 'warn',
      VKUBE_RATE_LIMIT_RPS: '0',
      VKUBE_LOCKOUT_FAILURES: '0',
      VKUBE_REGISTRY_MIRRORS: OFFLINE_DOCKER_HUB,
      VKUBE_PRIVATE_REGISTRIES: TEST_REGISTRIES,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // setEncoding decodes across chunks: a character split between two reads stays whole.
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`V-Kube exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`V-Kube did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    url,
    adminToken,
    databaseFile: join(dir, 'vkube.db'),
    pid: child.pid!,
    output: () => output,
    async createOrder(body = {}) {
      const res = await fetch(`${url}/api/v1/admin/orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ duration: 24, serviceOptions: { resourceUnit: '2-Unit-Resource' }, ...body }),
      });
      if (res.status !== 201) throw new Error(`create order: ${res.status} ${await res.text()}`);
      const json = (await res.json()) as { secret: string; token: string; order: { id: string } };
      return { id: json.order.id, secret: json.secret, token: json.token };
    },
    async stop() {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    restart() {
      return startServerProcess({ env, reuse: { dir, port } });
    },
  };
}

/** The replica's `vkube_leader` gauge (1 while it leads), or undefined when it does not answer. */
export async function leaderGauge(r: ServerProcess): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${r.url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const m = /^vkube_leader (\d)/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
