/**
 * Why it stopped, on real containers (region laima): GET /k8s/pod/status explains each
 * container (last termination with reason, exit code and times, restart count,
 * crash-loop back-off, readiness), `previous=true` reads the run before the last
 * restart (plain and as Server-Sent Events) or says there is none, and the probes of
 * the deploy body really run: a failing liveness probe restarts the container, a
 * failing readiness probe keeps it out of Ready.
 */
import assert from 'node:assert/strict';
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { pushAppImage, realNodeOrSkip, type RealNodeHandle, served, testHostPort, testOrders } from '../helpers/real-node.js';

const { node, skip } = await realNodeOrSkip();
let t: TestApp;
let image: { image: string };

interface Termination {
  reason: string;
  exitCode: number;
  startedAt: string | null;
  finishedAt: string | null;
  killedBy?: string;
}
interface ContainerHealth {
  name: string;
  ready: boolean;
  restartCount: number;
  state: string;
  reason?: string;
  message?: string;
  crashLoopBackOff: boolean;
  lastTermination: Termination | null;
  hasPreviousLog: boolean;
  summary: string;
}
interface StatusView {
  name: string;
  podStatus: { phase: string; conditions?: Array<{ type: string; status: string }> };
  podSpec: { containers: Array<Record<string, unknown>> };
  containers?: ContainerHealth[];
}

before(async () => {
  if (!node) return;
  // Small units, as in the other real-node suites: the node has two cores, shared.
  t = await startTestApp({ env: { VKUBE_UNIT_MEMORY: '64Mi', VKUBE_UNIT_CPU: '250m' } });
  image = await pushAppImage(node);
});
after(async () => {
  await t?.close();
});
const orders = testOrders(() => t);
afterEach(() => orders.abortAll());
const newOrder = (n: RealNodeHandle) => orders.create({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: n.region } });

function seedBody(n: RealNodeHandle, hostPort: number, container: Record<string, unknown>, memory = '64Mi'): Record<string, unknown> {
  return { nodeSelector: { region: n.region }, containers: [{ name: 'app', imageName: image.image, ports: [{ containerPort: 80, hostPort }], resource: { memory }, ...container }] };
}

async function status(secret: string): Promise<StatusView> {
  const res = await t.tenant(secret).get('/api/v1/k8s/pod/status');
  assert.equal(res.statusCode, 200, res.body);
  return res.json<StatusView>();
}

async function app(secret: string): Promise<ContainerHealth> {
  const s = await status(secret);
  const c = s.containers?.find((x) => x.name === 'app');
  assert.ok(c, `status explains the container: ${JSON.stringify(s.containers)} ${JSON.stringify(s.podStatus)}`);
  return c;
}

/** The whole SSE answer of GET /k8s/pod/logs with `query`, until the server ends it. */
async function sse(secret: string, query: string): Promise<{ status: number; text: string }> {
  if (!t.app.server.listening) await t.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = t.app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = httpGet({ host: '127.0.0.1', port, path: `/api/v1/k8s/pod/logs?${query}`, headers: { secret, connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    setTimeout(() => req.destroy(new Error('the stream did not end within 30 s')), 30_000).unref();
  });
}

describe('why it stopped, on the real node', { skip }, () => {
  it('a container that exits 3: Error, exit code 3 with its times, restarts, CrashLoopBackOff; previous=true reads the run that ended', { timeout: 180_000 }, async () => {
    const n = node!;
    const order = await newOrder(n);
    const command = ['/bin/sh', '-c', 'echo "run $RANDOM$RANDOM"; sleep 1; echo "exiting with 3"; exit 3'];
    const deploy = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedBody(n, testHostPort(), { command }));
    assert.equal(deploy.statusCode, 200, deploy.body);

    const restarted = await eventually(
      async () => {
        const c = await app(order.secret);
        assert.ok(c.restartCount >= 1, `restartCount ${c.restartCount}`);
        assert.ok(c.lastTermination, 'a last termination');
        return c;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const last = restarted.lastTermination!;
    assert.equal(last.reason, 'Error');
    assert.equal(last.exitCode, 3);
    assert.ok(last.startedAt && last.finishedAt, `start and end are known: ${JSON.stringify(last)}`);
    assert.ok(Date.parse(last.finishedAt) >= Date.parse(last.startedAt), 'it ended after it started');
    assert.ok(Date.parse(last.finishedAt) - Date.parse(last.startedAt) >= 500, 'the run lasted its second of sleep');
    assert.equal(restarted.hasPreviousLog, true);
    assert.match(restarted.summary, /its last run exited with code 3 \(Error\)/);

    // Kubernetes backs off between restarts of a container that keeps stopping.
    const looping = await eventually(
      async () => {
        const c = await app(order.secret);
        assert.equal(c.crashLoopBackOff, true, JSON.stringify(c));
        return c;
      },
      { timeoutMs: 90_000, intervalMs: 300 },
    );
    assert.equal(looping.state, 'waiting');
    assert.equal(looping.reason, 'CrashLoopBackOff');
    assert.match(looping.message ?? '', /back-off \S+ restarting failed container/);
    assert.match(looping.summary, /^keeps stopping: Kubernetes waits \S+ before starting it again \(CrashLoopBackOff\); its last run exited with code 3 \(Error\); restarted (once|\d+ times)$/);
    assert.equal(looping.ready, false);

    const previous = await t.tenant(order.secret).get('/api/v1/k8s/pod/log?container=app&previous=true');
    assert.equal(previous.statusCode, 200, previous.body);
    assert.match(previous.json<string>(), /^run \d+\nexiting with 3\n$/, 'exactly the output of the run that ended');

    const streamed = await sse(order.secret, 'container=app&previous=true');
    assert.equal(streamed.status, 200, streamed.text);
    assert.match(streamed.text, /^data: run \d+$/m);
    assert.match(streamed.text, /^data: exiting with 3$/m);
    assert.match(streamed.text, /^event: end$/m, 'the previous run is over: the stream ends');
  });

  it('a memory hog is OOMKilled: status says so in its reason and in plain words', { timeout: 180_000 }, async () => {
    const n = node!;
    const order = await newOrder(n);
    // 200 MB into a shell variable under a 32Mi limit; busybox's head and tr are in the image.
    const command = ['/bin/sh', '-c', 'echo filling; a=$(head -c 200000000 /dev/zero | tr "\\0" x); echo "survived ${#a}"; sleep 3600'];
    assert.equal((await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedBody(n, testHostPort(), { command }, '32Mi'))).statusCode, 200);
    const killed = await eventually(
      async () => {
        const c = await app(order.secret);
        const reason = c.lastTermination?.reason ?? (c.state === 'terminated' ? c.reason : undefined);
        assert.equal(reason, 'OOMKilled', JSON.stringify(c));
        return c;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    if (killed.lastTermination) {
      assert.equal(killed.lastTermination.exitCode, 137);
      assert.match(killed.summary, /its last run was killed for using more memory than its limit \(OOMKilled\)/);
    } else {
      assert.match(killed.summary, /^has stopped: it was killed for using more memory than its limit \(OOMKilled\)/);
    }
  });

  it('a failing liveness probe restarts the container; status and events show it', { timeout: 180_000 }, async () => {
    const n = node!;
    const order = await newOrder(n);
    const hostPort = testHostPort();
    const livenessProbe = { httpGet: { path: '/no-such-page', port: 80 }, periodSeconds: 2, failureThreshold: 2, timeoutSeconds: 1 };
    assert.equal((await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedBody(n, hostPort, { args: 'liveness', livenessProbe }))).statusCode, 200);
    await served(n, hostPort, /token=liveness/);
    const s = await status(order.secret);
    assert.deepEqual(s.podSpec.containers[0]!.livenessProbe, { ...livenessProbe, httpGet: { ...livenessProbe.httpGet, scheme: 'HTTP' }, successThreshold: 1 }, 'rendered as given (Kubernetes fills successThreshold)');

    const c = await eventually(
      async () => {
        const x = await app(order.secret);
        assert.ok(x.restartCount >= 1, `restartCount ${x.restartCount}`);
        assert.ok(x.lastTermination, 'the killed run is recorded');
        // Kubernetes calls a clean exit on the kubelet's SIGTERM "Completed"; the kubelet's Killing event says why it came.
        assert.equal(x.lastTermination.killedBy, 'livenessProbe', JSON.stringify(x.lastTermination));
        assert.match(x.summary, /was restarted because its liveness probe failed/);
        return x;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    assert.equal(c.hasPreviousLog, true);
    // The app stops cleanly on the kubelet's SIGTERM; its previous run says so.
    const previous = await t.tenant(order.secret).get('/api/v1/k8s/pod/log?container=app&previous=true');
    assert.equal(previous.statusCode, 200, previous.body);
    assert.match(previous.json<string>(), /started liveness, serving on 80/);
    assert.match(previous.json<string>(), /stopping liveness/, 'the kubelet stopped it');
    await eventually(
      async () => {
        const events = (await t.tenant(order.secret).get('/api/v1/k8s/events')).json<{ events: Array<{ reason: string; message: string }> }>().events;
        assert.ok(
          events.some((e) => e.reason === 'Unhealthy' && /Liveness probe failed/.test(e.message)),
          JSON.stringify(events.map((e) => `${e.reason}: ${e.message}`)),
        );
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
  });

  it('a failing readiness probe keeps the pod out of Ready, and status says why; there is no previous run to read', { timeout: 180_000 }, async () => {
    const n = node!;
    const order = await newOrder(n);
    const hostPort = testHostPort();
    const readinessProbe = { tcpSocket: { port: 81 }, periodSeconds: 1 };
    const startupProbe = { exec: { command: ['test', '-f', '/www/index.html'] }, periodSeconds: 1, failureThreshold: 30 };
    assert.equal((await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedBody(n, hostPort, { args: 'unready', readinessProbe, startupProbe }))).statusCode, 200);
    // It runs and serves (nothing checks port 81, so the probe keeps failing).
    await served(n, hostPort, /token=unready/);
    const c = await eventually(
      async () => {
        const x = await app(order.secret);
        assert.equal(x.state, 'running');
        assert.equal(x.summary, 'running, not ready: its readiness probe does not succeed', JSON.stringify(x));
        return x;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    // Still not ready a few periods later, never restarted (readiness does not restart).
    await new Promise((r) => setTimeout(r, 4000));
    const s = await status(order.secret);
    const later = s.containers!.find((x) => x.name === 'app')!;
    assert.equal(later.ready, false);
    assert.equal(later.restartCount, 0);
    assert.equal(c.lastTermination, null);
    assert.equal(s.podStatus.phase, 'Running');
    assert.equal(s.podStatus.conditions?.find((x) => x.type === 'Ready')?.status, 'False', 'the pod is not Ready');
    assert.ok(s.podSpec.containers[0]!.startupProbe, 'the startup probe is rendered too');

    const previous = await t.tenant(order.secret).get('/api/v1/k8s/pod/log?container=app&previous=true');
    assert.equal(previous.statusCode, 404, previous.body);
    assert.match(previous.json<{ error: { message: string } }>().error.message, /^container "app" has no previous instance to read: it has not stopped or restarted since this pod started/);
    const streamed = await sse(order.secret, 'container=app&previous=true');
    assert.equal(streamed.status, 404, streamed.text);
    assert.match(streamed.text, /has no previous instance/);
  });
});
