/**
 * Starting, finding and stopping the control plane's processes. Each one runs
 * detached (it outlives `cluster:up`), logs to `<state>/logs/<name>.log`, and is
 * recorded in `<state>/pids/<name>.json` with its binary, so `cluster:down` stops
 * exactly what we started and never a recycled pid.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ClusterError, sleep } from './util.js';

export interface ProcessRecord {
  name: string;
  pid: number;
  binary: string;
  args: string[];
  log: string;
  /** Variables set for this process on top of ours (PATH for the real node's tools). */
  env?: Record<string, string>;
}

export function logPath(state: string, name: string): string {
  return join(state, 'logs', `${name}.log`);
}

/** Our environment, minus what would silently reconfigure a component (REGISTRY_* overrides the registry's config file). */
function childEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REGISTRY_')));
  return { ...env, ...extra };
}

export async function startProcess(state: string, name: string, binary: string, args: string[], env?: Record<string, string>): Promise<ProcessRecord> {
  const cwd = state;
  await mkdir(join(state, 'logs'), { recursive: true });
  await mkdir(join(state, 'pids'), { recursive: true });
  const log = logPath(state, name);
  const fd = openSync(log, 'a');
  try {
    const child = spawn(binary, args, { cwd, detached: true, stdio: ['ignore', fd, fd], env: childEnv(env) });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid!));
      child.once('error', reject);
    });
    child.unref();
    const record: ProcessRecord = { name, pid, binary, args, log, ...(env ? { env } : {}) };
    await writeFile(join(state, 'pids', `${name}.json`), JSON.stringify(record, null, 2));
    return record;
  } catch (err) {
    throw new ClusterError(`cannot start ${name} (${binary}): ${(err as Error).message}`, 'run `npm run cluster:build` to (re)build the binaries');
  } finally {
    closeSync(fd);
  }
}

export async function readRecords(state: string): Promise<ProcessRecord[]> {
  const dir = join(state, 'pids');
  const files = await readdir(dir).catch(() => [] as string[]);
  const out: ProcessRecord[] = [];
  for (const f of files.filter((f) => f.endsWith('.json'))) {
    try {
      out.push(JSON.parse(await readFile(join(dir, f), 'utf8')) as ProcessRecord);
    } catch {
      // A torn pid file (crash while writing) names nothing we can stop.
    }
  }
  return out;
}

/** True when the recorded pid is alive and is still the binary we started. */
export function isAlive(rec: Pick<ProcessRecord, 'pid' | 'binary'>): boolean {
  try {
    const cmdline = readFileSync(`/proc/${rec.pid}/cmdline`, 'utf8');
    if (!cmdline.split('\0')[0]?.endsWith(rec.binary.split('/').pop()!)) return false;
    const stat = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
    // A zombie (state Z) has exited; it only waits for its parent to reap it.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
export async function stopProcess(state: string, rec: ProcessRecord, graceMs = 10_000): Promise<void> {
  if (isAlive(rec)) {
    signal(rec.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(rec) && Date.now() < deadline) await sleep(100);
    if (isAlive(rec)) {
      signal(rec.pid, 'SIGKILL');
      while (isAlive(rec)) await sleep(50);
    }
  }
  await rm(join(state, 'pids', `${rec.name}.json`), { force: true });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Resolves true when nothing listens on 127.0.0.1:port. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}
