/**
 * Into a running container on the real node (region laima), through V-Kube's HTTP and
 * WebSocket endpoints, Kubernetes' real pods/exec and pods/portforward, containerd and
 * runc: one-shot exec (stdout, stderr, exit code, stdin, timeout, the output cap, an
 * unknown container), an interactive shell over v5.channel.k8s.io (typed command, resize,
 * exit code on channel 3; the secret as a subprotocol), port-forward carrying an HTTP
 * request to the container's httpd, the per-order cap (429), audit entries, another
 * order's secret, VKUBE_EXEC=off, and a session ended when its order is stopped.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { closeFrame, exitStatus, frame, resizeFrame, secretProtocol } from '../../src/kernel/stream-channels.js';
import { ConflictError } from '../../src/kernel/errors.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { pushAppImage, realNodeOrSkip, testHostPort, testOrders } from '../helpers/real-node.js';

const { node, skip } = await realNodeOrSkip();
let t: TestApp;
let base: string;
let image: { image: string };
/** The order every test but the last execs into, with its pod running the app (httpd on 80). */
let order: { id: string; secret: string; token: string };
const TOKEN = `exec-${Date.now().toString(36)}`;
const OUTPUT_CAP = 4096;
const SESSIONS = 3;

interface ExecAnswer {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  timedOut: boolean;
  message?: string;
}

before(async () => {
  if (!node) return;
  t = await startTestApp({
    env: { VKUBE_UNIT_MEMORY: '64Mi', VKUBE_UNIT_CPU: '250m', VKUBE_EXEC_OUTPUT_BYTES: String(OUTPUT_CAP), VKUBE_SESSIONS_PER_ORDER: String(SESSIONS) },
  });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  image = await pushAppImage(node);
  order = await deployApp();
});
after(async () => {
  await t?.close();
});
// t.close() aborts every order the app created, these included.
const orders = testOrders(() => t);

/** A new order running the app image on the real node, Running and Ready. */
async function deployApp(): Promise<{ id: string; secret: string; token: string }> {
  const o = await orders.create({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: node!.region } });
  const body = {
    nodeSelector: { region: node!.region },
    containers: [{ name: 'app', imageName: image.image, ports: [{ containerPort: 80, hostPort: testHostPort() }], resource: { memory: '64Mi' }, args: TOKEN }],
  };
  const res = await t.tenant(o.secret).post('/api/v1/k8s/deploy', body);
  assert.equal(res.statusCode, 200, res.body);
  await eventually(
    async () => {
      const s = await t.tenant(o.secret).get('/api/v1/k8s/pod/status');
      const status = s.json<{ podStatus: { phase: string; containerStatuses?: Array<{ ready: boolean }> } }>().podStatus;
      assert.equal(status.phase, 'Running', s.body);
      assert.equal(status.containerStatuses?.[0]?.ready, true, s.body);
    },
    { timeoutMs: 90_000, intervalMs: 500 },
  );
  return o;
}

async function exec(secret: string, body: Record<string, unknown>): Promise<{ status: number; json: ExecAnswer & { error?: { code: number; message: string } } }> {
  const res = await t.tenant(secret).post('/api/v1/k8s/pod/exec', body);
  return { status: res.statusCode, json: res.json() };
}

/** A WebSocket client that keeps every frame it gets, and how it closed. */
class Client {
  readonly frames: Array<{ channel: number; data: Buffer }> = [];
  closed: { code: number; reason: string } | undefined;
  readonly opened: Promise<void>;

  constructor(readonly ws: WebSocket) {
    ws.on('message', (m: Buffer) => this.frames.push({ channel: m[0]!, data: m.subarray(1) }));
    ws.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d));
        res.on('end', () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
      });
    });
  }

  /** The raw bytes received (port-forward: no channel byte). */
  raw(): Buffer {
    return Buffer.concat(this.frames.map((f) => Buffer.concat([Buffer.from([f.channel]), f.data])));
  }

  text(channel: number): string {
    return Buffer.concat(this.frames.filter((f) => f.channel === channel).map((f) => f.data)).toString('utf8');
  }

  waitClosed(timeoutMs = 30_000): Promise<{ code: number; reason: string }> {
    return eventually(() => this.closed ?? assert.fail('still open'), { timeoutMs, intervalMs: 50 });
  }
}

function shell(secret: string, query: string, opts: { protocols?: string[]; headers?: Record<string, string> } = {}): Client {
  const ws = new WebSocket(`ws://${base}/api/v1/k8s/pod/exec?${query}`, opts.protocols ?? ['v5.channel.k8s.io'], { headers: opts.headers ?? { secret } });
  return new Client(ws);
}

function portForward(secret: string, port: number): Client {
  return new Client(new WebSocket(`ws://${base}/api/v1/k8s/pod/portforward?port=${port}`, { headers: { secret } }));
}

/** The HTTP refusal of an upgrade: its status and envelope. */
async function refusedUpgrade(client: Client): Promise<{ status: number; error: { code: number; message: string } }> {
  const err = (await client.opened.then(
    () => assert.fail('the upgrade was accepted'),
    (e: unknown) => e,
  )) as { status: number; body: string };
  return { status: err.status, error: (JSON.parse(err.body) as { error: { code: number; message: string } }).error };
}

describe('exec and port-forward on the real node', { skip, timeout: 600_000 }, () => {
  it('one-shot: stdout, stderr and the exit code', async () => {
    const started = Date.now();
    const { status, json } = await exec(order.secret, { command: ['sh', '-c', 'echo "out $((6*7))"; echo err >&2; exit 3'] });
    assert.equal(status, 200, JSON.stringify(json));
    assert.equal(json.stdout, 'out 42\n');
    assert.equal(json.stderr, 'err\n');
    assert.equal(json.exitCode, 3);
    assert.equal(json.timedOut, false);
    assert.equal(json.stdoutTruncated, false);
    console.log(`one-shot exec round trip: ${Date.now() - started} ms`);

    const ok = await exec(order.secret, { command: ['cat', '/www/index.html'], container: 'app' });
    assert.equal(ok.json.exitCode, 0);
    assert.match(ok.json.stdout, new RegExp(`token=${TOKEN}`), 'ran in the container that serves the token');
  });

  it('one-shot: stdin reaches the command, which sees its end', async () => {
    const { json } = await exec(order.secret, { command: ['sh', '-c', 'wc -c; echo done'], stdin: 'héllo\n'.repeat(20_000) });
    assert.equal(json.exitCode, 0, JSON.stringify(json));
    assert.equal(json.stdout, `${Buffer.byteLength('héllo\n') * 20_000}\ndone\n`);
  });

  it('one-shot: a command that runs past timeoutSeconds is cut off and killed', async () => {
    const started = Date.now();
    const { status, json } = await exec(order.secret, { command: ['sh', '-c', 'echo begun; exec sleep 300'], timeoutSeconds: 2 });
    const took = Date.now() - started;
    assert.equal(status, 200);
    assert.equal(json.timedOut, true);
    assert.equal(json.exitCode, null);
    assert.equal(json.stdout, 'begun\n', 'what it printed before the timeout');
    assert.match(json.message ?? '', /killed \(SIGKILL\)/, JSON.stringify(json));
    assert.ok(took >= 2000 && took < 10_000, `answered after ${took} ms`);
    // What happens in the container: the process does not outlive its stream.
    await eventually(
      async () => {
        const ps = await exec(order.secret, { command: ['ps', '-o', 'pid,args'] });
        assert.doesNotMatch(ps.json.stdout, /sleep 300/, ps.json.stdout);
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );
  });

  it('one-shot: output past the cap is cut and marked; an unknown program or container is said so', async () => {
    const { json } = await exec(order.secret, { command: ['sh', '-c', `head -c ${OUTPUT_CAP * 3} /dev/zero | tr '\\0' a; echo tail >&2`] });
    assert.equal(json.stdout.length, OUTPUT_CAP);
    assert.equal(json.stdoutTruncated, true);
    assert.equal(json.stderr, 'tail\n');
    assert.equal(json.stderrTruncated, false);
    assert.equal(json.exitCode, 0, 'the command ran to its end');

    // As in a shell: exit code 127 and the reason on stderr (the command runs under V-Kube's /bin/sh wrapper, see the README).
    const missing = await exec(order.secret, { command: ['no-such-program'] });
    assert.equal(missing.status, 200);
    assert.equal(missing.json.exitCode, 127, JSON.stringify(missing.json));
    assert.match(missing.json.stderr, /no-such-program.*not found/, JSON.stringify(missing.json));
    assert.doesNotMatch(missing.json.stderr, /vkube-exec-pid/, "the wrapper's own line is not the command's output");

    const container = await exec(order.secret, { command: ['true'], container: 'nope' });
    assert.equal(container.status, 404);
    assert.match(container.json.error!.message, /no container "nope" in the pod; it has app/);
    const bad = await exec(order.secret, { command: [] });
    assert.equal(bad.status, 400);
  });

  it('interactive: a typed command, its output, a resize, and the exit code on channel 3', async () => {
    const started = Date.now();
    const c = shell(order.secret, 'command=sh&stdin=true&tty=true');
    await c.opened;
    assert.equal(c.ws.protocol, 'v5.channel.k8s.io');
    c.ws.send(resizeFrame(100, 30));
    c.ws.send(frame(0, 'stty size; echo "typed $((6*7))"\n'));
    await eventually(() => assert.match(c.text(1), /typed 42/), { timeoutMs: 15_000, intervalMs: 50 });
    console.log(`interactive first output: ${Date.now() - started} ms`);
    assert.match(c.text(1), /30 100/, 'the terminal has the size sent on channel 4');
    c.ws.send(frame(0, 'exit 7\n'));
    const closed = await c.waitClosed();
    assert.equal(closed.code, 1000, closed.reason);
    const status = c.frames.filter((f) => f.channel === 3);
    assert.equal(status.length, 1, 'one status frame');
    assert.equal(exitStatus(status[0]!.data).exitCode, 7, status[0]!.data.toString());
    assert.match(status[0]!.data.toString(), /"reason":"NonZeroExitCode"/, 'the status as Kubernetes sends it');
  });

  it('interactive without a terminal, with the secret as a subprotocol (as a browser sends it), and end of stdin', async () => {
    const c = shell('', 'command=sh&command=-c&command=cat%3B%20echo%20eof&stdin=true', { protocols: ['v5.channel.k8s.io', secretProtocol(order.secret)], headers: {} });
    await c.opened;
    assert.equal(c.ws.protocol, 'v5.channel.k8s.io', 'answered with the channel protocol, never the secret one');
    c.ws.send(frame(0, 'piped\n'));
    c.ws.send(closeFrame(0));
    await c.waitClosed();
    assert.equal(c.text(1), 'piped\neof\n');
    assert.equal(exitStatus(c.frames.find((f) => f.channel === 3)!.data).exitCode, 0);
  });

  it('port-forward: an HTTP request to the container\'s httpd, raw bytes both ways; a closed port says so', async () => {
    const started = Date.now();
    const c = portForward(order.secret, 80);
    await c.opened;
    c.ws.send(Buffer.from('GET /index.html HTTP/1.0\r\nHost: pod\r\n\r\n'));
    const closed = await c.waitClosed();
    console.log(`port-forward HTTP round trip: ${Date.now() - started} ms`);
    const answer = c.raw().toString('utf8');
    assert.match(answer, /^HTTP\/1\.[01] 200/, answer);
    assert.match(answer, new RegExp(`token=${TOKEN}`));
    assert.equal(closed.code, 1000, `httpd closed the connection: ${closed.reason}`);

    const refused = portForward(order.secret, 81);
    await refused.opened;
    refused.ws.send(Buffer.from('hello'));
    const why = await refused.waitClosed();
    assert.equal(why.code, 1011);
    assert.match(why.reason, /refused|81/, why.reason);
  });

  it('refusals before the upgrade answer HTTP in the envelope: no secret, a bad port, no channel protocol, an unknown container', async () => {
    const anonymous = await refusedUpgrade(shell('', 'command=sh', { headers: {} }));
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.error.code, 401);
    assert.equal((await refusedUpgrade(portForward(order.secret, 70000))).status, 400);
    const noProtocol = await refusedUpgrade(new Client(new WebSocket(`ws://${base}/api/v1/k8s/pod/exec?command=sh`, { headers: { secret: order.secret } })));
    assert.equal(noProtocol.status, 400);
    assert.match(noProtocol.error.message, /v5\.channel\.k8s\.io/);
    const container = await refusedUpgrade(shell(order.secret, 'command=sh&container=nope'));
    assert.equal(container.status, 404);
    assert.match(container.error.message, /no container "nope"/);
    const plain = await t.tenant(order.secret).get('/api/v1/k8s/pod/portforward?port=80');
    assert.equal(plain.statusCode, 426);
    assert.equal(plain.json<{ error: { code: number } }>().error.code, 426);
  });

  it(`caps the live sessions of an order at ${SESSIONS} (429), followed logs included, and frees places as they end`, async () => {
    const open: Client[] = [];
    for (let i = 0; i < SESSIONS - 1; i++) {
      const c = shell(order.secret, 'command=sleep&command=600&stdin=false');
      await c.opened;
      open.push(c);
    }
    // A followed log (SSE) takes the last place.
    const logs = await fetch(`http://${base}/api/v1/k8s/pod/logs`, { headers: { secret: order.secret } });
    assert.equal(logs.status, 200);
    const over = await refusedUpgrade(portForward(order.secret, 80));
    assert.equal(over.status, 429);
    assert.match(over.error.message, /2 interactive exec, 1 followed log/);
    const oneShot = await exec(order.secret, { command: ['true'] });
    assert.equal(oneShot.status, 429);
    const logsOver = await t.tenant(order.secret).get('/api/v1/k8s/pod/logs');
    assert.equal(logsOver.statusCode, 429);

    await logs.body?.cancel();
    for (const c of open) c.ws.close();
    await eventually(async () => assert.equal((await exec(order.secret, { command: ['true'] })).json.exitCode, 0), { timeoutMs: 10_000 });
  });

  it('another order\'s secret reaches only its own pod', async () => {
    const other = await orders.create({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: node!.region } });
    const nothing = await exec(other.secret, { command: ['hostname'] });
    assert.equal(nothing.status, 404, 'nothing deployed for it: it does not fall through to another pod');
    assert.match(nothing.json.error!.message, /nothing is deployed/);
    assert.equal((await refusedUpgrade(portForward(other.secret, 80))).status, 404);
    assert.equal((await exec('not-a-secret', { command: ['hostname'] })).status, 401);
    const own = await exec(order.secret, { command: ['hostname'] });
    const pod = (await t.tenant(order.secret).get('/api/v1/k8s/pod/status')).json<{ name: string }>().name;
    assert.equal(own.json.stdout.trim(), pod, "the order's own pod");
  });

  it('audits every exec with its command (never its output) and each session start and end', async () => {
    const marker = `audit-${Date.now()}`;
    assert.equal((await exec(order.secret, { command: ['echo', marker], stdin: 'secret-input' })).json.exitCode, 0);
    const c = shell(order.secret, 'command=sh&command=-c&command=exit%200&stdin=false');
    await c.opened;
    await c.waitClosed();
    const entries = await eventually(async () => {
      const res = await t.admin('GET', `/api/v1/admin/audit?orderId=${order.id}&limit=1000`);
      const items = res.json<{ items: Array<{ action: string; outcome: number; actor: string; detail: string | null }> }>().items;
      assert.ok(items.some((e) => e.action === 'exec session end'), 'the end is recorded once the socket closed');
      return items;
    });
    const oneShot = entries.find((e) => e.action === 'POST /api/v1/k8s/pod/exec' && e.detail?.includes(marker));
    assert.ok(oneShot, JSON.stringify(entries.slice(0, 5)));
    assert.equal(oneShot.outcome, 200);
    assert.equal(oneShot.actor, `order:${order.id}`);
    assert.deepEqual(JSON.parse(oneShot.detail!).command, ['echo', marker]);
    assert.equal(JSON.parse(oneShot.detail!).exitCode, 0);
    const text = JSON.stringify(entries);
    assert.doesNotMatch(text, /secret-input/, 'stdin is never recorded');
    assert.doesNotMatch(text, new RegExp(`token=${TOKEN}`), 'output is never recorded');
    const start = entries.find((e) => e.action === 'exec session start' && e.detail?.includes('exit 0'));
    assert.ok(start, 'the session start with its command');
    const id = JSON.parse(start.detail!).session as string;
    const end = entries.find((e) => e.action === 'exec session end' && JSON.parse(e.detail ?? '{}').session === id);
    assert.equal(JSON.parse(end!.detail!).reason, 'finished');
    assert.ok(entries.some((e) => e.action === 'portforward session start' && JSON.parse(e.detail ?? '{}').port === 80));
    assert.ok(entries.some((e) => e.action === 'GET /api/v1/k8s/pod/portforward' && e.outcome === 429), 'a refused session is recorded too');
  });

  it('VKUBE_EXEC=off turns exec and port-forward off, with a clear error; the rate limit applies to upgrades', async () => {
    // A slow bucket (burst 3, then one request a second): enough for the calls below, then 429.
    const off = await startTestApp({ env: { VKUBE_EXEC: 'off', VKUBE_RATE_LIMIT_RPS: '1', VKUBE_RATE_LIMIT_BURST: '3' } });
    try {
      const o = await off.createOrder({});
      const res = await off.tenant(o.secret).post('/api/v1/k8s/pod/exec', { command: ['true'] });
      assert.equal(res.statusCode, 403);
      assert.match(res.json<{ error: { message: string } }>().error.message, /turned off by the provider.*VKUBE_EXEC=off/);
      await off.app.listen({ port: 0, host: '127.0.0.1' });
      const port = (off.app.server.address() as AddressInfo).port;
      const ws = new Client(new WebSocket(`ws://127.0.0.1:${port}/api/v1/k8s/pod/portforward?port=80`, { headers: { secret: o.secret } }));
      const refused = await refusedUpgrade(ws);
      assert.equal(refused.status, 403);
      assert.match(refused.error.message, /VKUBE_EXEC=off/);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await refusedUpgrade(new Client(new WebSocket(`ws://127.0.0.1:${port}/api/v1/k8s/pod/exec?command=sh`, ['v5.channel.k8s.io'], { headers: { secret: o.secret } })))).status);
      assert.ok(statuses.includes(429), `the bucket ran dry: ${statuses.join(', ')}`);
    } finally {
      await off.close();
    }
  });

  it("a Kubernetes refusal of the exec itself (400: no such container in the pod's spec) is a 409 with its words, not a 500", async () => {
    // The domain checks the container first; this asks the API server directly, as a container that went between the check and the call would.
    const pod = (await t.tenant(order.secret).get('/api/v1/k8s/pod/status')).json<{ name: string }>().name;
    await assert.rejects(
      t.services.cluster.exec(namespaceOf(order.id), pod, { container: 'gone', command: ['true'], stdin: false, tty: false }),
      (err: Error & { status?: number }) => {
        assert.ok(err instanceof ConflictError, `${err.name}: ${err.message}`);
        assert.match(err.message, /Kubernetes cannot exec in .* now: .*gone/);
        return true;
      },
    );
  });

  it('what a session leaves running when it ends: its processes go on (documented in the README)', async () => {
    // A shell on a terminal running a command in the foreground, and a command without a terminal: the client leaves.
    for (const [query, line, marker] of [
      ['command=sh&stdin=true&tty=true', 'sleep 4101\n', 'sleep 4101'],
      ['command=sh&command=-c&command=sleep%204202&stdin=true', '', 'sleep 4202'],
    ] as const) {
      const c = shell(order.secret, query);
      await c.opened;
      if (line) c.ws.send(frame(0, line));
      await eventually(async () => assert.match((await exec(order.secret, { command: ['ps', '-o', 'args'] })).json.stdout, new RegExp(marker)), { timeoutMs: 15_000, intervalMs: 200 });
      c.ws.close();
      await c.waitClosed();
    }
    // Kubernetes has no way to signal an exec'd process, and closing its stream does not: both still run once the sessions are gone.
    await new Promise((r) => setTimeout(r, 3000));
    const ps = (await exec(order.secret, { command: ['ps', '-o', 'pid,args'] })).json.stdout;
    assert.match(ps, /sleep 4101/, ps);
    assert.match(ps, /sleep 4202/, ps);
    // Leave the container as it was for the tests after this one.
    await exec(order.secret, { command: ['sh', '-c', 'pkill -f "sleep 4[12]0[12]" || killall sleep'] });
  });

  it('a session ends when its order is stopped', async () => {
    const c = shell(order.secret, 'command=sh&stdin=true&tty=true');
    await c.opened;
    c.ws.send(frame(0, 'echo ready\n'));
    await eventually(() => assert.match(c.text(1), /ready/), { timeoutMs: 15_000, intervalMs: 50 });
    const stop = await t.tenant(order.secret).post('/api/v1/k8s/pod/stop', {});
    assert.equal(stop.statusCode, 200, stop.body);
    const closed = await c.waitClosed(60_000);
    assert.ok([1001, 1008].includes(closed.code), `closed with ${closed.code} ${closed.reason}`);
    assert.match(closed.reason, /pod went away|order was stopped/);
    const after = await exec(order.secret, { command: ['true'] });
    assert.ok([404, 409].includes(after.status), `no pod to exec into: ${after.status}`);
  });
});
