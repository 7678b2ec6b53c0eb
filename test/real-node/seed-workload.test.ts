/**
 * The seed API on the real node (region laima): a customer's container really starts
 * from the pushed image, answers on the host port it was sold, writes the log V-Kube
 * serves (plain and as Server-Sent Events), restarts when its process exits with the
 * previous run's log kept, is held to its memory, and shows real usage in /monitor.
 */
import assert from 'node:assert/strict';
import { get as httpStream } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { pushAppImage, realNodeOrSkip, type RealNodeHandle, served, testHostPort, testOrders } from '../helpers/real-node.js';

const { node, skip } = await realNodeOrSkip();
let t: TestApp;
let image: { image: string; digest: string };

interface ContainerStatus {
  name: string;
  ready: boolean;
  restartCount: number;
  imageID: string;
  state: { running?: object; waiting?: { reason: string }; terminated?: { reason: string } };
  lastState: { terminated?: { reason: string; exitCode: number } };
}
interface PodStatusView {
  name: string;
  podStatus: { phase: string; hostIP: string; podIP: string; containerStatuses?: ContainerStatus[] };
  podSpec: { nodeName: string };
}

before(async () => {
  if (!node) return;
  // Small units: the real node has two cores, and other suites share it. A container's
  // CPU is its share of the order's by memory, so a 64Mi container of a 2-unit order gets 250m.
  t = await startTestApp({ env: { VKUBE_UNIT_MEMORY: '64Mi', VKUBE_UNIT_CPU: '250m' } });
  image = await pushAppImage(node);
});
after(async () => {
  await t?.close();
});
const orders = testOrders(() => t);
afterEach(() => orders.abortAll());
const newOrder = (units: number, region: string) => orders.create({ serviceOptions: { resourceUnit: `${units}-Unit-Resource`, region } });

function seedBody(n: RealNodeHandle, hostPort: number, container: Record<string, unknown>, memory = '64Mi'): Record<string, unknown> {
  return {
    nodeSelector: { region: n.region },
    containers: [{ name: 'app', imageName: image.image, ports: [{ containerPort: 80, hostPort }], resource: { memory }, ...container }],
  };
}

async function status(secret: string): Promise<PodStatusView> {
  const res = await t.tenant(secret).get('/api/v1/k8s/pod/status');
  assert.equal(res.statusCode, 200, res.body);
  return res.json<PodStatusView>();
}

describe('the seed API on the real node', { skip }, () => {
  it('runs the pushed image, answers on hostIP:hostPort, and logs the real stdout', { timeout: 120_000 }, async () => {
    const n = node!;
    const order = await newOrder(2, n.region);
    const hostPort = testHostPort();
    const token = `seed-${hostPort}`;
    const deploy = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedBody(n, hostPort, { args: token }));
    assert.equal(deploy.statusCode, 200, deploy.body);

    const view = await eventually(async () => {
      const s = await status(order.secret);
      assert.equal(s.podStatus.phase, 'Running', JSON.stringify(s.podStatus));
      assert.equal(s.podStatus.containerStatuses?.[0]?.ready, true, 'container ready');
      return s;
    }, { timeoutMs: 60_000 });
    assert.equal(view.podSpec.nodeName, n.name, 'scheduled on the real node');
    assert.equal(view.podStatus.hostIP, n.ip, "the node's own address is the pod's hostIP");
    const imageID = view.podStatus.containerStatuses![0]!.imageID;
    assert.ok(imageID.endsWith(`@${image.digest}`), `imageID ${imageID} is the pushed manifest ${image.digest}`);

    const body = await served(n, hostPort, new RegExp(`token=${token}`));
    assert.match(body, new RegExp(`^token=${token}$`, 'm'));

    const log = await eventually(async () => {
      const res = await t.tenant(order.secret).get('/api/v1/k8s/pod/log?container=app');
      assert.equal(res.statusCode, 200, res.body);
      const text = res.json<string>();
      assert.match(text, new RegExp(`started ${token}, serving on 80`));
      return text;
    });
    assert.doesNotMatch(log, /vkube local cluster/, "not kwok's canned log");
  });

  it('streams the log as Server-Sent Events while the container writes it', { timeout: 120_000 }, async () => {
    const n = node!;
    const order = await newOrder(2, n.region);
    const hostPort = testHostPort();
    const token = `sse-${hostPort}`;
    assert.equal((await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedBody(n, hostPort, { args: token }))).statusCode, 200);
    await served(n, hostPort, new RegExp(token));

    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    // The container logs each request it serves with its URL (busybox httpd -vv): ask for a page nobody else asks for, then see it arrive.
    const marker = `/from-the-test-${Date.now()}`;
    const received = await new Promise<string>((resolve, reject) => {
      const req = httpStream({ host: '127.0.0.1', port, path: '/api/v1/k8s/pod/logs?container=app', headers: { secret: order.token, connection: 'close' } }, (res) => {
        assert.equal(res.statusCode, 200);
        let text = '';
        let asked = false;
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
          if (!asked && text.includes(`started ${token}`)) {
            asked = true;
            fetch(`http://${n.ip}:${hostPort}${marker}`).then((r) => r.body?.cancel(), reject);
          }
          if (text.includes(marker)) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
      setTimeout(() => reject(new Error('no log line for the request within 30 s')), 30_000).unref();
    });
    assert.match(received, new RegExp(`^data: started ${token}, serving on 80$`, 'm'));
    assert.match(received, new RegExp(`^data: .*${marker}`, 'm'), 'the access line the container wrote after the stream opened');
  });

  it('restarts a process that exits, and keeps the previous run readable', { timeout: 120_000 }, async () => {
    const n = node!;
    const order = await newOrder(1, n.region);
    const command = ['/bin/sh', '-c', 'echo "run $RANDOM$RANDOM"; sleep 1; echo "exiting with 3"; exit 3'];
    assert.equal((await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedBody(n, testHostPort(), { command }))).statusCode, 200);
    const restarted = await eventually(async () => {
      const c = (await status(order.secret)).podStatus.containerStatuses?.[0];
      assert.ok((c?.restartCount ?? 0) >= 1, `restartCount ${c?.restartCount}`);
      assert.equal(c!.lastState.terminated?.exitCode, 3, JSON.stringify(c!.lastState));
      return c!;
    }, { timeoutMs: 60_000 });
    assert.equal(restarted.lastState.terminated?.reason, 'Error');
    const previous = await t.tenant(order.secret).get('/api/v1/k8s/pod/log?container=app&previous=true');
    assert.equal(previous.statusCode, 200, previous.body);
    assert.match(previous.json<string>(), /^run \d+\nexiting with 3\n$/);
    const events = await eventually(async () => {
      const res = await t.tenant(order.secret).get('/api/v1/k8s/events');
      const restarts = res.json<{ restarts: Array<{ container: string; restartCount: number; lastExitCode: number | null }> }>().restarts;
      assert.ok(restarts.some((r) => r.container === 'app' && r.restartCount >= 1 && r.lastExitCode === 3), JSON.stringify(restarts));
      return restarts;
    });
    assert.ok(events.length >= 1, 'restarts recorded');
  });

  it('OOM-kills a container over its memory, and status and events say OOMKilled', { timeout: 120_000 }, async () => {
    const n = node!;
    const order = await newOrder(1, n.region);
    // 200 MB into a shell variable, under a 32Mi limit (1 unit of 64Mi: half of it).
    const command = ['/bin/sh', '-c', 'echo filling; a=$(head -c 200000000 /dev/zero | tr "\\0" x); echo "survived ${#a}"; sleep 3600'];
    const deploy = await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedBody(n, testHostPort(), { command }, '32Mi'));
    assert.equal(deploy.statusCode, 200, deploy.body);
    const killed = await eventually(async () => {
      const c = (await status(order.secret)).podStatus.containerStatuses?.[0];
      const reason = c?.lastState.terminated?.reason ?? c?.state.terminated?.reason;
      assert.equal(reason, 'OOMKilled', JSON.stringify(c));
      return c!;
    }, { timeoutMs: 60_000 });
    assert.equal(killed.lastState.terminated?.exitCode ?? 137, 137);
    await eventually(async () => {
      const restarts = (await t.tenant(order.secret).get('/api/v1/k8s/events')).json<{ restarts: Array<{ lastReason: string }> }>().restarts;
      assert.ok(restarts.some((r) => r.lastReason === 'OOMKilled'), JSON.stringify(restarts));
    });
    // Every run is killed the same way; the kubelet keeps only the latest dead one, so a
    // read that lands while it swaps them finds none: read again then.
    const log = await eventually(async () => {
      const res = await t.tenant(order.secret).get('/api/v1/k8s/pod/log?container=app&previous=true');
      assert.equal(res.statusCode, 200, res.body);
      const text = res.json<string>();
      assert.match(text, /^filling$/m);
      return text;
    });
    assert.doesNotMatch(log, /survived/, 'the process never got its 200 MB');
  });

  it('/monitor reports the real container: CPU, memory against its limit, network and storage', { timeout: 120_000 }, async () => {
    const n = node!;
    const order = await newOrder(2, n.region);
    // Burns CPU and holds ~20 MB while serving.
    const command = ['/bin/sh', '-c', 'a=$(head -c 20000000 /dev/zero | tr "\\0" x); (while :; do :; done) & exec /app/serve.sh monitor'];
    const hostPort = testHostPort();
    assert.equal((await t.tenant(order.secret).post('/api/v1/k8s/deploy', seedBody(n, hostPort, { command }))).statusCode, 200);
    await served(n, hostPort, /token=monitor/);
    const view = await eventually(
      async () => {
        const res = await t.tenant(order.secret).get('/api/v1/monitor?allTypes=True&containers=app');
        assert.equal(res.statusCode, 200, res.body);
        const v = res.json<{ cpu: Record<string, { value: number }>; memory: Record<string, { value: number; limitValue: number }>; storage: { value: number }; unavailable?: string[] }>();
        assert.ok(v.cpu.app!.value > 0.02, `cpu ${v.cpu.app!.value} cores`);
        assert.ok(v.memory.app!.value > 10 * 2 ** 20, `memory ${v.memory.app!.value} bytes`);
        return v;
      },
      { timeoutMs: 90_000, intervalMs: 2000 },
    );
    assert.equal(view.memory.app!.limitValue, 64 * 2 ** 20, 'the 64Mi the customer asked for');
    assert.ok(view.cpu.app!.value <= 0.3, `held to its CPU limit of 0.25 cores: ${view.cpu.app!.value}`);
    assert.equal(view.unavailable, undefined, "the real kubelet's network and storage figures are readable");
  });
});
