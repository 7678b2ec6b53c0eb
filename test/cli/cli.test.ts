/**
 * The real `bin/vkube.js`, run as a child process against a real V-Kube process on the
 * local cluster: login, regions, deploys from a seed body and a VKubefile, status,
 * logs (also followed), stop/start, port conflicts, an unschedulable pod, the admin
 * commands, and the exit codes scripts branch on.
 *
 * Host ports used here: 6011-6019 (other test files use other ranges). Every order
 * this file creates is aborted at the end, which frees its ports.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../dev/cluster/config.js';
import { createVkubeClient, unwrap } from '../../src/sdk/client.js';
import { eventually } from '../helpers/eventually.js';
import { type ServerProcess, startServerProcess } from '../helpers/server.js';

const BIN = join(repoRoot, 'bin', 'vkube.js');
const PORT_A = 6011;
const PORT_B = 6012;
const PORT_FREE = 6013;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let server: ServerProcess;
let work: string;
/** Orders to abort at the end. */
const orders: string[] = [];
/** Every secret this file handled, and every output that must not show them. */
const secrets = new Set<string>();
const outputs: Array<{ args: string[]; text: string }> = [];

before(async () => {
  // Docker Hub cannot be reached from the test machine: fail those checks quickly.
  server = await startServerProcess({ VKUBE_REGISTRY_TIMEOUT_MS: '1500' });
  work = await mkdtemp(join(tmpdir(), 'vkube-cli-'));
});

after(async () => {
  for (const id of orders) {
    const r = await vkube(['admin', 'order', 'abort', id, '--server', server.url, '--json'], { env: { VKUBE_ADMIN_TOKEN: server.adminToken } });
    if (r.code !== 0) console.error(`could not abort order ${id}: ${r.stdout}${r.stderr}`);
  }
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * Runs `vkube args…`. The environment is the test's minus any VKUBE_* login, with its
 * own config directory. With --json, stdout must be exactly one JSON document.
 */
function vkube(args: string[], opts: { env?: Record<string, string>; configDir?: string; input?: string; timeoutMs?: number; secretsAllowed?: boolean } = {}): Promise<Run> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of ['VKUBE_SERVER', 'VKUBE_SECRET', 'VKUBE_ADMIN_TOKEN', 'VKUBE_CONFIG_DIR', 'XDG_CONFIG_HOME']) delete env[k];
  Object.assign(env, { VKUBE_CONFIG_DIR: opts.configDir ?? join(work, 'no-login'), ...opts.env });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: repoRoot, env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vkube ${args.join(' ')} did not finish in time\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!opts.secretsAllowed) outputs.push({ args, text: stdout + stderr });
      if (args.includes('--json')) {
        assert.doesNotThrow(() => JSON.parse(stdout), `vkube ${args.join(' ')}: stdout is not one JSON document:\n${stdout}\n${stderr}`);
      }
      resolve({ code, stdout, stderr });
    });
  });
}

/** The JSON document of a run that had to succeed. */
function ok<T = Record<string, unknown>>(r: Run, what: string): T {
  assert.equal(r.code, 0, `${what} exited ${r.code}:\n${r.stdout}\n${r.stderr}\n${server.output().slice(-2000)}`);
  return JSON.parse(r.stdout) as T;
}

interface Created {
  secret: string;
  token: string;
  order: { id: string };
}

async function createOrder(args: string[]): Promise<Created> {
  const r = await vkube(['admin', 'order', 'create', '--server', server.url, '--duration', '24', '--json', ...args], {
    env: { VKUBE_ADMIN_TOKEN: server.adminToken },
    secretsAllowed: true,
  });
  const created = ok<Created>(r, 'admin order create');
  orders.push(created.order.id);
  secrets.add(created.secret);
  secrets.add(created.token);
  return created;
}

async function file(name: string, text: string): Promise<string> {
  const path = join(work, name);
  await writeFile(path, text);
  return path;
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('vkube, the command-line tool, against a real V-Kube', () => {
  let a: Created;
  const dirA = () => join(work, 'login-a');

  it('documents its commands and exit codes in --help', async () => {
    const r = await vkube(['--help']);
    assert.equal(r.code, 0);
    for (const text of ['Exit codes:', '3  not logged in', '5  conflict', '8  the deploy did not reach Running', 'deploy', 'logs', 'admin']) assert.ok(r.stdout.includes(text), text);
    const deploy = await vkube(['deploy', '--help']);
    assert.match(deploy.stdout, /Examples:\n {2}\$ vkube deploy -f VKubefile\.yaml/);
  });

  it('admin order create prints the order and its secret once (and needs the admin token)', async () => {
    a = await createOrder(['--units', '2', '--region', 'ausrine']);
    assert.match(a.secret, /^[1-9A-HJ-NP-Za-km-z]{30,}$/);
    assert.ok(a.token.length > a.secret.length);

    const human = await vkube(['admin', 'order', 'create', '--server', server.url, '--duration', '1'], { env: { VKUBE_ADMIN_TOKEN: server.adminToken }, secretsAllowed: true });
    assert.equal(human.code, 0, human.stderr);
    const id = /^Order (\w+) created/.exec(human.stdout)?.[1];
    assert.ok(id, human.stdout);
    orders.push(id);
    assert.match(human.stdout, /Secret: {2}\S+/);
    assert.match(human.stdout, /only time the secret is shown/);

    const noToken = await vkube(['admin', 'order', 'list', '--server', server.url, '--json']);
    assert.equal(noToken.code, 3);
    assert.equal((JSON.parse(noToken.stdout) as { error: { code: string } }).error.code, 'unauthenticated');
    const wrong = await vkube(['admin', 'order', 'list', '--server', server.url], { env: { VKUBE_ADMIN_TOKEN: 'wrong-token-0123456789' } });
    assert.equal(wrong.code, 3);
    assert.match(wrong.stderr, /refused the admin token/);
  });

  it('login with the secret checks it, then saves it readable by the user only', async () => {
    const r = await vkube(['login', '--server', server.url, '--secret', a.secret], { configDir: dirA() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Logged in to ${server.url.replace(/\./g, '\\.')} as order ${a.order.id}`));
    const path = join(dirA(), 'config.json');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(dirA())).mode & 0o777, 0o700);
    assert.equal(JSON.parse(await readFile(path, 'utf8')).secret, a.secret);

    const order = ok<{ order: { id: string }; service: { status: string } }>(await vkube(['order', '--json'], { configDir: dirA() }), 'order');
    assert.equal(order.order.id, a.order.id);
    assert.equal(order.service.status, 'ServicePending');
    const human = await vkube(['order'], { configDir: dirA() });
    assert.match(human.stdout, /Expires +not started yet/);
  });

  it("login with the clients' token takes the server from it; a piped secret works too", async () => {
    const dir = join(work, 'login-token');
    ok(await vkube(['login', '--token', a.token, '--json'], { configDir: dir }), 'login --token');
    const saved = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { server: string; secret: string };
    assert.equal(saved.server, server.url);
    assert.equal(saved.secret, a.secret, 'the plain secret is saved, not the token');
    assert.equal((await stat(join(dir, 'config.json'))).mode & 0o777, 0o600);

    const piped = await vkube(['login', '--server', server.url], { configDir: join(work, 'login-piped'), input: `${a.secret}\n` });
    assert.equal(piped.code, 0, piped.stderr);
    const none = await vkube(['login', '--server', server.url], { configDir: join(work, 'login-none') });
    assert.equal(none.code, 2, 'no secret on stdin is a usage error');
  });

  it('a wrong secret, no login, or a config file others can read is exit 3', async () => {
    const wrong = await vkube(['login', '--server', server.url, '--secret', 'WrongSecret123', '--json'], { configDir: join(work, 'login-wrong') });
    assert.equal(wrong.code, 3);
    assert.deepEqual(Object.keys((JSON.parse(wrong.stdout) as { error: object }).error).sort(), ['code', 'exitCode', 'httpStatus', 'message']);
    const flag = await vkube(['status', '--server', server.url, '--secret', 'WrongSecret123']);
    assert.equal(flag.code, 3);
    // A wrong secret is not "not logged in": it says the secret was refused and where to look.
    assert.match(flag.stderr, /did not accept the secret \(unknown secret\); check --secret or VKUBE_SECRET/);
    assert.doesNotMatch(flag.stderr, /not logged in/);
    const none = await vkube(['order']);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /not logged in/);

    const dir = join(work, 'login-leaky');
    ok(await vkube(['login', '--server', server.url, '--secret', a.secret, '--json'], { configDir: dir }), 'login');
    await chmod(join(dir, 'config.json'), 0o644);
    const leaky = await vkube(['order'], { configDir: dir });
    assert.equal(leaky.code, 3);
    assert.match(leaky.stderr, /readable by other users/);
  });

  it('regions --json lists the regions', async () => {
    const regions = ok<string[]>(await vkube(['regions', '--server', server.url, '--json']), 'regions');
    assert.ok(regions.includes('ausrine') && regions.includes('giltine'), String(regions));
  });

  it('deploy -f a seed body in YAML waits until the pod runs; an unreachable registry only warns', async () => {
    const path = await file(
      'seed.yaml',
      `nodeSelector:
  region: ausrine
containers:
  - name: web
    imageName: nginx:1.27
    ports:
      - containerPort: 80
        hostPort: ${PORT_A}
    resource:
      memory: 256Mi
    command: "/bin/sh\\n-c\\ntail -f /dev/null"
`,
    );
    const r = await vkube(['deploy', '-f', path, '--json'], { configDir: dirA() });
    const out = ok<{ endpoint: string; warnings: string[]; pod: { phase: string; ready: boolean }; deploy: { containers: Array<{ ports: Array<{ hostPort: number }> }> } }>(r, 'deploy');
    assert.equal(out.endpoint, 'POST /api/v1/k8s/deploy');
    assert.equal(out.pod.phase, 'Running');
    assert.equal(out.pod.ready, true);
    assert.equal(out.deploy.containers[0]!.ports[0]!.hostPort, PORT_A);
    for (const w of out.warnings) assert.match(w, /could not check image nginx:1\.27/);
  });

  it('status shows the running pod, its node, host IP and ports', async () => {
    const s = ok<{ service: { status: string }; pod: { phase: string; ready: boolean; node: string; hostIP: string; ports: Array<{ hostPort: number }>; containers: Array<{ name: string; ready: boolean; restarts: number }> } }>(
      await vkube(['status', '--json'], { configDir: dirA() }),
      'status',
    );
    assert.equal(s.service.status, 'ServiceRunning');
    assert.equal(s.pod.phase, 'Running');
    assert.ok(s.pod.node.startsWith('ausrine'), s.pod.node);
    assert.ok(s.pod.hostIP);
    assert.equal(s.pod.ports[0]!.hostPort, PORT_A);
    assert.deepEqual(s.pod.containers.map((c) => [c.name, c.ready, c.restarts]), [['web', true, 0]]);
    const human = await vkube(['status'], { configDir: dirA() });
    assert.match(human.stdout, /Phase +Running, ready/);
    assert.match(human.stdout, new RegExp(`80/TCP → [\\d.]+:${PORT_A}`));
    assert.match(human.stdout, /CONTAINER +READY +RESTARTS +STATE +IMAGE\nweb +yes +0 +running/);
  });

  it('logs prints the log; --tail 1 only the last line', async () => {
    const all = await vkube(['logs'], { configDir: dirA() });
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /vkube local cluster: ready\n$/);
    assert.ok(all.stdout.trim().split('\n').length >= 2);
    const tail = await vkube(['logs', '--tail', '1'], { configDir: dirA() });
    assert.equal(tail.stdout, 'vkube local cluster: ready\n');
    const json = ok<{ log: string }>(await vkube(['logs', '--tail', '1', '--json'], { configDir: dirA() }), 'logs --json');
    assert.equal(json.log.trim(), 'vkube local cluster: ready');
  });

  it('logs -f follows the log and ends cleanly when interrupted', async () => {
    const env: Record<string, string | undefined> = { ...process.env, VKUBE_CONFIG_DIR: dirA() };
    delete env.VKUBE_SECRET;
    delete env.VKUBE_SERVER;
    const child: ChildProcess = spawn(process.execPath, [BIN, 'logs', '-f'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no log lines from vkube logs -f: ${stdout}\n${stderr}`)), 20_000);
        child.stdout!.setEncoding('utf8').on('data', (d: string) => {
          stdout += d;
          if (stdout.split('\n').length > 2) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      assert.match(stdout, /vkube local cluster: container started\n/);
      child.kill('SIGINT');
      const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000))]);
      assert.equal(code, 0, `vkube logs -f after Ctrl-C: ${String(code)}\n${stderr}`);
      assert.doesNotMatch(stderr, /error|at .*\.ts:\d+/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('ports check answers which ports are taken, with exit 0', async () => {
    const r = ok<{ status: string; occupied: number[]; free: number[] }>(await vkube(['ports', 'check', '--server', server.url, '--region', 'ausrine', String(PORT_A), String(PORT_FREE), '--json']), 'ports check');
    assert.equal(r.status, 'PortsOccupied');
    assert.deepEqual(r.occupied, [PORT_A]);
    assert.deepEqual(r.free, [PORT_FREE]);
    const human = await vkube(['ports', 'check', '--server', server.url, '--region', 'ausrine', String(PORT_A), String(PORT_FREE)]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, new RegExp(`${PORT_A} +taken\\n${PORT_FREE} +free`));
    const mine = ok<{ occupied: number[] }>(await vkube(['ports', 'check', '--region', 'ausrine', '--exclude-mine', String(PORT_A), '--json'], { configDir: dirA() }), 'ports check --exclude-mine');
    assert.deepEqual(mine.occupied, [], "the order's own port is not counted");
    // Logged in, the words are the console's: the order's own port is "yours", 22 "reserved".
    const words = await vkube(['ports', 'check', '--region', 'ausrine', String(PORT_A), '22', String(PORT_FREE)], { configDir: dirA() });
    assert.equal(words.code, 0, words.stderr);
    assert.match(words.stdout, new RegExp(`${PORT_A} +yours\\n22 +reserved\\n${PORT_FREE} +free`));
    const unknown = await vkube(['ports', 'check', '--server', server.url, '--region', 'nowhere', '80']);
    assert.equal(unknown.code, 4);
  });

  it('a file with several mistakes gets them all listed in one run, with their paths and the shape expected, exit 6', async () => {
    const c = await createOrder(['--units', '1', '--region', 'ausrine']);
    const path = await file(
      'mistakes.yaml',
      'containers:\n  - name: Web\n    imageName: nginx\n    ports: [80]\n    env:\n      - value: x\n    resource: {memory: lots}\n',
    );
    const r = await vkube(['deploy', '-f', path, '--server', server.url, '--secret', c.secret]);
    assert.equal(r.code, 6, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('  '));
    assert.match(r.stderr, /mistakes\.yaml has 4 mistakes; nothing was deployed:/);
    assert.match(lines[0]!, /^ {2}containers\[0\]\.name: "Web" is not a valid name: use lowercase letters/);
    assert.match(lines[1]!, /^ {2}containers\[0\]\.ports\[0\]: must be an object such as \{"containerPort": 80, "hostPort": 8080\}, not 80$/);
    assert.match(lines[2]!, /^ {2}containers\[0\]\.env\[0\]\.name: required$/, 'the key the customer wrote (env), not the body\'s (envs)');
    assert.match(lines[3]!, /^ {2}containers\[0\]\.resource\.memory: "lots" is not a memory quantity/);
    const order = await vkube(['order', '--server', server.url, '--secret', c.secret]);
    assert.match(order.stdout, /Service +not deployed yet\n/);
    assert.match(order.stdout, /Resources +1 unit\n/);
    assert.match(order.stdout, /Host ports +chosen by you/);
  });

  it('a deploy asking for a taken host port stops before deploying, with exit 5 naming the port', async () => {
    const c = await createOrder(['--units', '1', '--region', 'ausrine']);
    const path = await file('taken.json', JSON.stringify({ nodeSelector: { region: 'ausrine' }, containers: [{ name: 'web', imageName: 'nginx', ports: [{ containerPort: 80, hostPort: PORT_A }], resource: { memory: '64Mi' } }] }));
    const creds = ['--server', server.url, '--secret', c.secret];
    const r = await vkube(['deploy', '-f', path, ...creds]);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, new RegExp(`host port ${PORT_A} \\(container web\\) is already taken in region ausrine`));
    const json = await vkube(['deploy', '-f', path, ...creds, '--json']);
    assert.equal(json.code, 5);
    assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'conflict');
    const status = ok<{ service: { status: string } }>(await vkube(['status', ...creds, '--json']), 'status');
    assert.equal(status.service.status, 'ServicePending', 'nothing was deployed');
  });

  it('stop scales the pod away, start brings it back on the same port', async () => {
    const stopped = ok<{ serviceStatus: string }>(await vkube(['stop', '--json'], { configDir: dirA() }), 'stop');
    assert.equal(stopped.serviceStatus, 'ServiceStop');
    await eventually(async () => {
      const s = ok<{ service: { status: string }; pod: unknown }>(await vkube(['status', '--json'], { configDir: dirA() }), 'status');
      assert.equal(s.service.status, 'ServiceStop');
      assert.equal(s.pod, null);
    });
    const human = await vkube(['status'], { configDir: dirA() });
    assert.match(human.stdout, /the service is stopped/);
    // start waits like deploy, without being asked to.
    const started = ok<{ serviceStatus: string; pod: { phase: string; ports: Array<{ hostPort: number }> } }>(await vkube(['start', '--json'], { configDir: dirA() }), 'start');
    assert.equal(started.serviceStatus, 'ServiceRunning');
    assert.equal(started.pod.phase, 'Running');
    assert.equal(started.pod.ports[0]!.hostPort, PORT_A);
  });

  it('deploy -f VKubefile.yaml logs in with its vkubeToken, reads its config file, and skips the build', async () => {
    const b = await createOrder(['--units', '2', '--region', 'giltine']);
    await file('app.conf', 'listen = 8080\nname = "cli test"\n');
    const path = await file(
      'VKubefile.yaml',
      `vkubeToken: ${b.token}
imageRegistry: docker
containers:
  - imageName: team/app
    tag: v1
    build:
      dockerfile: ./Dockerfile
    deploy:
      containerName: app
      resourceUnit: 1
      command: ["/bin/sh", "-c"]
      args: ["sleep infinity"]
      ports:
        - containerPort: 8080
          hostPort: ${PORT_B}
      env:
        - name: MODE
          value: production
      configurations:
        app.conf: /etc/app/app.conf
`,
    );
    // No login at all: the file's token is the login.
    const r = await vkube(['deploy', '-f', path], { configDir: join(work, 'no-login') });
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /containers\[0\]\.build: building images is not supported by this CLI/);
    assert.match(r.stderr, /Deployed to region [a-z]+ \(order [^)]+\)\.\n/);
    assert.doesNotMatch(r.stderr, /via POST|HTTP \d{3}/, 'no internals in what a customer reads');
    assert.match(r.stdout, /app +team\/app:v1 +8080\/TCP → host 6012/);
    assert.match(r.stdout, /^Running: pod \S+ on giltine/m);

    const api = createVkubeClient({ baseUrl: server.url, secret: b.secret });
    const info = unwrap(await api.GET('/api/v1/k8s/deployment/info')) as { containers: Array<{ configMap?: Record<string, string>; envs: unknown; imageName: string }> };
    assert.deepEqual(info.containers[0]!.configMap, { '/etc/app/app.conf': 'listen = 8080\nname = "cli test"\n' });
    assert.deepEqual(info.containers[0]!.envs, [{ name: 'MODE', value: 'production' }]);

    // Again: the service is running now, so it goes to /deployment/update; the pod is kept as it is.
    const again = ok<{ endpoint: string; pod: { phase: string } }>(await vkube(['deploy', '-f', path, '--json'], { configDir: join(work, 'no-login') }), 'deploy again');
    assert.equal(again.endpoint, 'POST /api/v1/k8s/deployment/update');
    assert.equal(again.pod.phase, 'Running');

    // The old secret stops working once the provider rotates it.
    const rotated = ok<{ secret: string }>(
      await vkube(['admin', 'order', 'rotate-secret', b.order.id, '--server', server.url, '--json'], { env: { VKUBE_ADMIN_TOKEN: server.adminToken }, secretsAllowed: true }),
      'rotate-secret',
    );
    secrets.add(rotated.secret);
    assert.notEqual(rotated.secret, b.secret);
    assert.equal((await vkube(['order', '--server', server.url, '--secret', b.secret])).code, 3);
    ok(await vkube(['order', '--server', server.url, '--secret', rotated.secret, '--json']), 'order with the new secret');
  });

  it("a pod that cannot be scheduled fails the deploy at once with exit 8 and the scheduler's reason", async () => {
    // 40 units may ask for 40Gi, more than any fake node has (32Gi): the scheduler says so.
    const d = await createOrder(['--units', '40', '--region', 'giltine']);
    const path = await file('too-big.json', JSON.stringify({ nodeSelector: { region: 'giltine' }, containers: [{ name: 'big', imageName: 'nginx', resource: { memory: '40Gi' } }] }));
    const started = Date.now();
    const r = await vkube(['deploy', '-f', path, '--server', server.url, '--secret', d.secret, '--timeout', '60']);
    assert.equal(r.code, 8, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /the deploy did not reach Running: the pod cannot be scheduled: .*Insufficient (memory|cpu)/);
    assert.ok(Date.now() - started < 30_000, 'failed fast, not at the timeout');
    const json = await vkube(['deploy', '-f', path, '--server', server.url, '--secret', d.secret, '--timeout', '1', '--json']);
    assert.equal(json.code, 8);
    assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'deploy_failed');
  });

  it('admin order list, show and renew', async () => {
    const admin = { env: { VKUBE_ADMIN_TOKEN: server.adminToken } };
    const list = ok<{ items: Array<{ id: string; serviceStatus: string }>; total: number }>(await vkube(['admin', 'order', 'list', '--server', server.url, '--json'], admin), 'list');
    assert.ok(list.items.some((o) => o.id === a.order.id && o.serviceStatus === 'ServiceRunning'));
    const running = ok<{ items: Array<{ serviceStatus: string }> }>(await vkube(['admin', 'order', 'list', '--server', server.url, '--status', 'ServiceRunning', '--limit', '2', '--json'], admin), 'list --status');
    assert.ok(running.items.length <= 2 && running.items.every((o) => o.serviceStatus === 'ServiceRunning'));
    const renewed = ok<{ duration: number; endAt: number }>(await vkube(['admin', 'order', 'renew', a.order.id, '--hours', '2', '--server', server.url, '--json'], admin), 'renew');
    assert.equal(renewed.duration, 26);
    const shown = await vkube(['admin', 'order', 'show', a.order.id, '--server', server.url], admin);
    assert.match(shown.stdout, /Duration +26 h/);
    assert.equal((await vkube(['admin', 'order', 'show', 'no-such-order', '--server', server.url], admin)).code, 4);
  });

  it('admin clusters: the one cluster, ready, its Lease held, its regions with nodes and room', async () => {
    const admin = { env: { VKUBE_ADMIN_TOKEN: server.adminToken } };
    const table = await vkube(['admin', 'clusters', '--server', server.url], admin);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^CLUSTER +READY +LEASE +REGION +NODES +CPU +MEMORY +FREE MEMORY$/m);
    assert.match(table.stdout, /yes +held here +ausrine +1\/1 Ready +8 +32\.0Gi/);
    assert.match(table.stdout, /^ +giltine +2\/2 Ready +16 +64\.0Gi/m);
    const json = ok<{ clusters: Array<{ ready: boolean; regions: Array<{ region: string }> }> }>(await vkube(['admin', 'clusters', '--server', server.url, '--json'], admin), 'clusters');
    assert.equal(json.clusters.length, 1);
    assert.ok(json.clusters[0]!.ready && json.clusters[0]!.regions.some((r) => r.region === 'giltine'));
    assert.equal((await vkube(['admin', 'clusters', '--server', server.url])).code, 3, 'no admin token');
  });

  it('usage errors are exit 2, an unreachable V-Kube exit 7', async () => {
    assert.equal((await vkube(['deploy'], { configDir: dirA() })).code, 2);
    const missing = await vkube(['deploy', '-f', join(work, 'nope.yaml'), '--json'], { configDir: dirA() });
    assert.equal(missing.code, 2);
    assert.match((JSON.parse(missing.stdout) as { error: { message: string } }).error.message, /no such file/);
    assert.equal((await vkube(['logs', '--tail', 'many'], { configDir: dirA() })).code, 2);
    assert.equal((await vkube(['no-such-command'])).code, 2);
    const down = await vkube(['regions', '--server', `http://127.0.0.1:${await closedPort()}`, '--json']);
    assert.equal(down.code, 7);
    assert.match((JSON.parse(down.stdout) as { error: { message: string } }).error.message, /cannot reach V-Kube at http:\/\/127\.0\.0\.1:\d+: connection refused/);
  });

  it('never prints a secret (outside admin order create and rotate-secret)', () => {
    assert.ok(outputs.length > 20);
    for (const { args, text } of outputs) {
      for (const secret of secrets) assert.ok(!text.includes(secret), `vkube ${args.filter((x) => !secrets.has(x)).join(' ')} printed a secret`);
    }
  });
});
