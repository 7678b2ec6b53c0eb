/**
 * A pod's network on the real node (region laima): traffic the container really serves
 * shows in `/monitor` (networkUpload, networkDownload) and as points of the usage
 * history's network series, read from the kubelet's Summary API; its disk use shows as
 * storage. The traffic is this test fetching a file from the pod's host port on the
 * node's bridge address.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { httpGet, pushAppImage, realNodeOrSkip, served, testHostPort, testOrders } from '../helpers/real-node.js';

const { node, skip } = await realNodeOrSkip();
let t: TestApp;
let image: { image: string };

/** The size of the file the pod serves: a few hundred KB per fetch. */
const FILE_BYTES = 300_000;

before(async () => {
  if (!node) return;
  t = await startTestApp({ env: { VKUBE_UNIT_MEMORY: '64Mi', VKUBE_UNIT_CPU: '250m', VKUBE_USAGE_INTERVAL_SECONDS: '1' } });
  image = await pushAppImage(node);
});
after(async () => {
  await t?.services.usageHistory.stop();
  await t?.close();
});
const orders = testOrders(() => t);
afterEach(() => orders.abortAll());

/** Deploys the app serving /big (FILE_BYTES) on a host port of the real node; resolves the port once it answers. */
async function deployServer(secret: string): Promise<number> {
  const n = node!;
  const hostPort = testHostPort();
  const command = ['/bin/sh', '-c', `mkdir -p /www && head -c ${FILE_BYTES} /dev/zero | tr '\\0' x > /www/big && exec /app/serve.sh net`];
  const body = { nodeSelector: { region: n.region }, containers: [{ name: 'app', imageName: image.image, command, ports: [{ containerPort: 80, hostPort }], resource: { memory: '64Mi' } }] };
  const res = await t.tenant(secret).post('/api/v1/k8s/deploy', body);
  assert.equal(res.statusCode, 200, res.body);
  await served(n, hostPort, /token=net/);
  return hostPort;
}

/** Fetches the file a few times: the pod sends about 3 × FILE_BYTES. */
async function traffic(hostPort: number): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const res = await httpGet(`http://${node!.ip}:${hostPort}/big`, 10_000);
    assert.equal(res.body.length, FILE_BYTES);
  }
}

interface MonitorAnswer {
  networkDownload: { value: number };
  networkUpload: { value: number };
  storage: { value: number };
  unavailable?: string[];
}

describe("a pod's network on the real node", { skip }, () => {
  it('/monitor shows the bytes the container serves as networkUpload, and its disk as storage', { timeout: 150_000 }, async () => {
    const order = await orders.create({ serviceOptions: { resourceUnit: '2-Unit-Resource', region: node!.region } });
    const hostPort = await deployServer(order.secret);
    const view = await eventually(
      async () => {
        // Traffic between two kubelet samples (every 10-15 s): the rate covers it.
        await traffic(hostPort);
        const res = await t.tenant(order.secret).get('/api/v1/monitor?allTypes=True&containers=app');
        assert.equal(res.statusCode, 200, res.body);
        const v = res.json<MonitorAnswer>();
        assert.equal(v.unavailable?.find((x) => x.startsWith('network')), undefined, `network unavailable: ${res.body}`);
        assert.ok(v.networkUpload.value > 0, `networkUpload ${v.networkUpload.value} bytes/s: ${res.body}`);
        return v;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    assert.ok(view.networkDownload.value > 0, `the requests came in too: networkDownload ${view.networkDownload.value} bytes/s`);
    // The file the container wrote is in its writable layer.
    assert.ok(view.storage.value >= FILE_BYTES, `storage ${view.storage.value} bytes holds the ${FILE_BYTES}-byte file`);
    // (CPU and memory may still be unavailable: the metrics API has no sample in a pod's first seconds.)
    assert.deepEqual(view.unavailable?.filter((x) => x.startsWith('network') || x === 'storage') ?? [], []);
  });

  it('the usage history has network points, non-zero while the pod serves', { timeout: 150_000 }, async () => {
    const order = await orders.create({ serviceOptions: { resourceUnit: '2-Unit-Resource', region: node!.region } });
    const hostPort = await deployServer(order.secret);
    t.services.usageHistory.start();
    const history = await eventually(
      async () => {
        await traffic(hostPort);
        const res = await t.tenant(order.secret).get('/api/v1/k8s/monitor/history?minutes=5');
        assert.equal(res.statusCode, 200, res.body);
        const v = res.json<{ intervalSeconds: number; network: { download: Array<[number, number]>; upload: Array<[number, number]> } }>();
        assert.ok(v.network.upload.some(([, bytes]) => bytes > 0), `no upload above 0 yet: ${JSON.stringify(v.network)}`);
        return v;
      },
      { timeoutMs: 120_000, intervalMs: 2000 },
    );
    assert.equal(history.intervalSeconds, 1);
    assert.ok(history.network.download.some(([, bytes]) => bytes > 0), `download: ${JSON.stringify(history.network.download)}`);
    for (const [at, bytes] of [...history.network.upload, ...history.network.download]) {
      assert.ok(Number.isInteger(at) && Math.abs(at - Date.now() / 1000) < 300, `unix seconds: ${at}`);
      assert.ok(Number.isInteger(bytes) && bytes >= 0, `bytes/s: ${bytes}`);
    }
  });
});
