/**
 * One throwaway PostgreSQL server from Debian's binaries: `initdb` into a temporary
 * directory, `pg_ctl -w start` on a free loopback port, `pg_ctl stop` and the
 * directory removed at the end. Tuned for tests (no fsync), reachable on 127.0.0.1
 * only, with a password for TCP and the unix socket inside the directory.
 *
 * PostgreSQL refuses to run as root: as root, the tools run as the `postgres`
 * system user (which Debian's package creates) and the directory belongs to it.
 *
 * A server must never outlive the process that started it: an exit hook shuts it
 * down when that process exits, and a watchdog process does the same (and removes
 * the directory) when it is killed by a signal, where no exit hook runs.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeLoopbackPort } from '../free-port.js';
import { spawnWatchdog } from '../watchdog.js';

const POSTGRES_ROOT = '/usr/lib/postgresql';
const SERVICE_USER = 'postgres';
const DATABASE_USER = 'vkube';
const STARTUP_TIMEOUT_SECONDS = 30;
const STOP_TIMEOUT_SECONDS = 30;
const INSTALL_HINT = 'run scripts/install-system-deps.sh (Debian package postgresql)';

const execFileAsync = promisify(execFile);

export interface RunningServer {
  /** `postgres://vkube:PASSWORD@127.0.0.1:PORT/postgres` */
  url: string;
  port: number;
  /** PostgreSQL's major version, from the binaries' directory name. */
  version: string;
  logFile: string;
  /** Shuts the server down (fast mode) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** The newest installed `/usr/lib/postgresql/<version>/bin` that has the server binaries. */
export async function findPostgresBinaries(): Promise<{ bin: string; version: string }> {
  const versions = await readdir(POSTGRES_ROOT).catch(() => [] as string[]);
  const newestFirst = versions.filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const version of newestFirst) {
    const bin = join(POSTGRES_ROOT, version, 'bin');
    if (['initdb', 'pg_ctl', 'postgres'].every((tool) => existsSync(join(bin, tool)))) return { bin, version };
  }
  throw new Error(`no PostgreSQL server binaries under ${POSTGRES_ROOT}/*/bin: ${INSTALL_HINT}`);
}

/** Servers alive in this process, shut down on exit if nobody called `stop()`. */
const running = new Set<{ postmasterPid: () => number | undefined }>();
let exitHookInstalled = false;

export async function startServer(): Promise<RunningServer> {
  const { bin, version } = await findPostgresBinaries();
  const runAs = await serviceAccount();
  const dir = await mkdtemp(join(tmpdir(), 'vkube-postgres-'));
  const dataDir = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const watchdog = startWatchdog(dir, dataDir);
  const tool = (name: string, args: string[]) => runTool(join(bin, name), args, runAs, dir);
  let postmasterPid: number | undefined;
  const tracked = { postmasterPid: () => postmasterPid };
  running.add(tracked);
  installExitHook();

  const shutDown = async () => {
    running.delete(tracked);
    if (postmasterPid !== undefined && isAlive(postmasterPid)) {
      try {
        await tool('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', String(STOP_TIMEOUT_SECONDS)]);
      } catch {
        killQuietly(postmasterPid, 'SIGKILL');
      }
    }
    // The watchdog goes after the server, so a crash during the stop still cleans up.
    watchdog.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  };

  try {
    if (runAs) await chown(dir, runAs.uid, runAs.gid);
    const password = randomPassword();
    await initCluster(tool, dir, dataDir, password, runAs);
    const port = await startOnFreePort(tool, dataDir, logFile);
    postmasterPid = readPostmasterPid(dataDir);
    let stopped = false;
    return {
      url: `postgres://${DATABASE_USER}:${password}@127.0.0.1:${port}/postgres`,
      port,
      version,
      logFile,
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await shutDown();
      },
    };
  } catch (err) {
    postmasterPid ??= readPostmasterPid(dataDir);
    await shutDown();
    throw err;
  }
}

type Tool = (name: string, args: string[]) => Promise<string>;

interface Account {
  uid: number;
  gid: number;
}

/** The account the server runs as: ours, or `postgres` when we are root. */
async function serviceAccount(): Promise<Account | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const [uid, gid] = await Promise.all(['-u', '-g'].map(async (flag) => Number((await execFileAsync('id', [flag, SERVICE_USER])).stdout.trim())));
    return { uid: uid!, gid: gid! };
  } catch {
    throw new Error(`running as root, and PostgreSQL refuses root: there is no '${SERVICE_USER}' user to run it as; ${INSTALL_HINT}`);
  }
}

async function initCluster(tool: Tool, dir: string, dataDir: string, password: string, runAs: Account | undefined): Promise<void> {
  const passwordFile = join(dir, 'password');
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  if (runAs) await chown(passwordFile, runAs.uid, runAs.gid);
  await tool('initdb', [
    '-D', dataDir,
    '-U', DATABASE_USER,
    `--pwfile=${passwordFile}`,
    // TCP needs the password; the socket lives in a directory only the server's account can enter.
    '--auth-host=scram-sha-256',
    '--auth-local=trust',
    '-E', 'UTF8',
    // The C locale exists everywhere; the developer's LANG may name one that is not installed.
    '--locale=C',
    '--no-sync',
    '--no-instructions',
  ]);
  await rm(passwordFile, { force: true });
  // Appended, so these win over initdb's defaults. Durability is worth nothing to a throwaway server.
  await appendFile(
    join(dataDir, 'postgresql.conf'),
    [
      '',
      '# vkube test server (dev/postgres/server.ts)',
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${dir}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      // A whole test run shares one server, each test file with its own pool.
      'max_connections = 200',
      '',
    ].join('\n'),
  );
}

/** Starts the server; a free port can be taken between our probe and its bind, so it tries again then. */
async function startOnFreePort(tool: Tool, dataDir: string, logFile: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freeLoopbackPort();
    try {
      await tool('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', String(STARTUP_TIMEOUT_SECONDS), '-o', `-p ${port}`]);
      return port;
    } catch (err) {
      const log = await readLogTail(logFile);
      if (attempt < 3 && log.includes('Address already in use')) continue;
      throw new Error(`PostgreSQL did not start: ${(err as Error).message}\nits log:\n${log}`, { cause: err });
    }
  }
}

/** Runs a PostgreSQL tool (as the service account when we are root); errors carry its output. */
async function runTool(binary: string, args: string[], runAs: Account | undefined, cwd: string): Promise<string> {
  const [command, commandArgs] = runAs ? ['runuser', ['-u', SERVICE_USER, '--', binary, ...args]] : [binary, args];
  try {
    return (await execFileAsync(command, commandArgs, { cwd, env: toolEnvironment() })).stdout;
  } catch (err) {
    const failure = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') throw new Error(`${command} is not installed: ${INSTALL_HINT}`);
    const output = `${failure.stdout ?? ''}${failure.stderr ?? ''}`.trim();
    throw new Error(`${binary.split('/').pop()} ${args[0] ?? ''} failed${output ? `: ${output}` : ''}`, { cause: err });
  }
}

/** The PG* variables of a developer's shell (PGDATA, PGPORT, …) must not redirect the tools. */
function toolEnvironment(): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('PG'))), LC_ALL: 'C' };
}

function readPostmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A `sh` that waits on a pipe from this process and, when the pipe closes (this
 * process is gone, however it ended), shuts the server down at once and removes its
 * directory. It finds the postmaster through its pid file and checks the pid is
 * still a postgres process, so it never signals a recycled pid. It runs in a session
 * of its own, as the server does (pg_ctl's doing): a signal to the test's whole
 * process group (Ctrl-C, a CI job killing the group) must not take it down first.
 */
function startWatchdog(dir: string, dataDir: string): ChildProcess {
  const script = [
    // An exited server stays a zombie until init reaps it: that counts as gone.
    'running() { [ -r "/proc/$1/status" ] && ! grep -q "^State:[[:space:]]*Z" "/proc/$1/status" 2>/dev/null; }',
    'pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null)',
    'if [ -n "$pid" ] && [ "$(cat /proc/$pid/comm 2>/dev/null)" = postgres ]; then',
    // SIGQUIT is PostgreSQL's immediate shutdown; SIGKILL if it has not gone within 5 s.
    '  kill -QUIT "$pid" 2>/dev/null',
    '  i=0; while running "$pid" && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done',
    '  kill -KILL "$pid" 2>/dev/null',
    'fi',
    'rm -rf -- "$0"',
  ].join('\n');
  return spawnWatchdog(script, [dir, dataDir], { detached: true });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    // Exit hooks cannot wait: start the immediate shutdown now; the watchdog, whose
    // pipe closes as this process ends, waits for it and removes the directory.
    for (const server of running) {
      const pid = server.postmasterPid();
      if (pid !== undefined) killQuietly(pid, 'SIGQUIT');
    }
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone.
  }
}

function randomPassword(): string {
  // Hex only: it goes into a URL unescaped.
  return randomBytes(12).toString('hex');
}

async function readLogTail(logFile: string, maxChars = 4_000): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '(no log written)');
  return text.length > maxChars ? `…${text.slice(-maxChars)}` : text;
}
