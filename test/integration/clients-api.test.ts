/**
 * DESIGN.md section 3: the original clients' calls, replayed with the bodies, headers
 * and query encodings those clients send, against the real local cluster.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import bs58 from 'bs58';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { activeLogStreams } from '../../src/http/routes/pod-log.js';
import { startRegistry, type TestRegistry } from '../../dev/registry/testing.js';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';

let t: TestApp;
let kube: KubeHttp;
let registry: TestRegistry;

before(async () => {
  t = await startTestApp();
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
  registry = await startRegistry({ auth: 'basic', users: { alice: 'wonderland' } });
  await registry.pushImage('team/app', 'v1');
  await registry.pushImage('team/app', 'v2');
});
after(async () => {
  await t.close();
  await registry.stop();
  kube.close();
});

/** What the clients send besides the secret; V-Kube must ignore it without error. */
const MARKET_HEADERS = { 'x-sdk-time': '1700000000', address: '0xabc', 'public-key': 'not-checked', signature: 'zzz' };

interface PodJson {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: string };
  spec: { containers: Array<{ name: string; image: string; env?: Array<{ name: string; value: string }>; ports?: Array<{ hostPort?: number; containerPort: number }> }> };
  status: { phase?: string };
}

async function livePods(orderId: string): Promise<PodJson[]> {
  return (await kube.get<{ items: PodJson[] }>(`/api/v1/namespaces/${namespaceOf(orderId)}/pods`)).items.filter((p) => !p.metadata.deletionTimestamp);
}

async function runningPod(orderId: string, not?: string): Promise<PodJson> {
  return eventually(async () => {
    const pods = await livePods(orderId);
    assert.equal(pods.length, 1, 'one pod');
    assert.equal(pods[0]!.status.phase, 'Running');
    if (not) assert.notEqual(pods[0]!.metadata.name, not, 'a new pod');
    return pods[0]!;
  });
}

function clientBody(generation: 1 | 2, hostPort?: number): Record<string, unknown> {
  const command = generation === 1 ? '/bin/sh\n-c\nnginx -g "daemon off;"' : ['/bin/sh', '-c', 'nginx -g "daemon off;"'];
  const args = generation === 1 ? '-x' : ['-x'];
  return {
    containers: [
      {
        name: 'c1',
        imageName: 'nginx:latest',
        resourceUnit: 1,
        ports: [{ containerPort: 80, ...(hostPort ? { hostPort } : {}), protocol: 'TCP' }],
        envs: [{ name: 'K', value: 'V' }],
        command,
        args,
        ...(generation === 1 ? { configMountPath: '/etc/app/app.conf', config: 'a = 1\n' } : { configMap: { '/etc/app/app.conf': 'a = 1\n' } }),
        exposedPorts: [{ path: '/api', rewrite: true, containerPort: 80 }],
      },
    ],
    pvtLogin: [{ username: '', password: '' }],
  };
}

describe('service lifecycle through the clients\' calls', () => {
  let order: { secret: string; id: string; token: string };
  before(async () => {
    order = await t.createOrder({ duration: 5, email: 'a@example.com', serviceOptions: { resourceUnit: '2-Unit-Resource', region: 'giltine' } });
  });

  it('GET /k8s/userService: ServicePending before the first deploy, with the fields the clients read', async () => {
    const res = await t.tenant(order.token).get('/api/v1/k8s/userService', MARKET_HEADERS);
    assert.equal(res.statusCode, 200);
    const s = res.json<Record<string, unknown>>();
    for (const f of ['id', 'status', 'serviceOptions', 'duration', 'serviceActivateTS', 'serviceRunningTS', 'serviceDoneTS', 'serviceAbortTS', 'endAt', 'email']) assert.ok(f in s, f);
    assert.equal(s.status, 'ServicePending');
    assert.equal(s.email, 'a@example.com');
    assert.equal(s.serviceRunningTS, 0);
  });

  it('POST /k8s/deployment (generation 1: strings, config + configMountPath) deploys with exactly 200', async () => {
    const res = await t.tenant(order.token).post('/api/v1/k8s/deployment', clientBody(1, 5101), { ...MARKET_HEADERS, connection: 'close' });
    assert.equal(res.statusCode, 200, res.body);
    assert.ok(!('error' in res.json<object>()));
    const pod = await runningPod(order.id);
    const c = pod.spec.containers[0]!;
    assert.deepEqual(c.env, [{ name: 'K', value: 'V' }]);
    assert.equal(c.ports![0]!.hostPort, 5101);
    const s = (await t.tenant(order.secret).get('/api/v1/k8s/userService')).json<{ status: string; serviceRunningTS: number; endAt: number }>();
    assert.equal(s.status, 'ServiceRunning');
    assert.ok(s.serviceRunningTS > 0);
    assert.equal(s.endAt - s.serviceRunningTS, 5 * 3600);
  });

  it('a second POST /k8s/deployment is refused: the first deploy needs ServicePending', async () => {
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deployment', clientBody(1, 5101));
    assert.equal(res.statusCode, 409);
    assert.ok('error' in res.json<object>());
  });

  it('POST /k8s/deployment/update (generation 2: arrays, configMap) and GET /k8s/deployment/info', async () => {
    const before = (await livePods(order.id))[0]!.metadata.name;
    const body = clientBody(2, 5102);
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deployment/update', body);
    assert.equal(res.statusCode, 200, res.body);
    await runningPod(order.id, before);
    const info = (await t.tenant(order.secret).get('/api/v1/k8s/deployment/info')).json<{ containers: Array<Record<string, unknown>>; nodeSelector: { region: string } }>();
    assert.equal(info.nodeSelector.region, 'giltine');
    const c = info.containers[0]!;
    assert.equal(c.imageName, 'nginx:latest');
    assert.equal(c.resourceUnit, 1);
    assert.deepEqual(c.command, ['/bin/sh', '-c', 'nginx -g "daemon off;"']);
    assert.deepEqual(c.ports, [{ containerPort: 80, hostPort: 5102, protocol: 'TCP' }]);
    assert.deepEqual(c.configMap, { '/etc/app/app.conf': 'a = 1\n' });
    assert.deepEqual(c.exposedPorts, [{ path: '/api', rewrite: true, containerPort: 80 }]);
  });

  it('PUT /k8s/pod/update replaces config text and sets environment; the pod restarts with them', async () => {
    const before = (await runningPod(order.id)).metadata.name;
    const res = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/k8s/pod/update',
      headers: { secret: order.secret },
      payload: { config: { c1: 'a = 2\n' }, environment: { c1: { K: 'W', NEW: '1' } } },
    });
    assert.equal(res.statusCode, 200, res.body);
    const pod = await runningPod(order.id, before);
    assert.deepEqual(pod.spec.containers[0]!.env, [
      { name: 'K', value: 'W' },
      { name: 'NEW', value: '1' },
    ]);
    assert.deepEqual((await t.tenant(order.secret).get('/api/v1/k8s/pod/configmap')).json(), { c1: 'a = 2\n' });
    const cm = await kube.get<{ data: Record<string, string> }>(`/api/v1/namespaces/${namespaceOf(order.id)}/configmaps/config-c1`);
    assert.deepEqual(Object.values(cm.data), ['a = 2\n']);
    const bad = await t.app.inject({ method: 'PUT', url: '/api/v1/k8s/pod/update', headers: { secret: order.secret }, payload: { config: { nope: 'x' } } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<{ error: { message: string } }>().error.message, /^config\.nope: no container "nope"/);
  });

  it('stop scales to zero (ServiceStop), start resumes on the same host ports, restart gives a new pod', async () => {
    const stop = await t.tenant(order.secret).post('/api/v1/k8s/pod/stop', {});
    assert.equal(stop.statusCode, 200, stop.body);
    assert.ok(!('error' in stop.json<object>()));
    assert.equal((await t.tenant(order.secret).get('/api/v1/k8s/userService')).json<{ status: string }>().status, 'ServiceStop');
    await eventually(async () => assert.equal((await livePods(order.id)).length, 0, 'no running pod'));
    const check = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: { region: 'giltine', ports: [5102] } });
    assert.deepEqual(check.json(), { occupied: [5102], status: 'PortsOccupied' }, 'a stopped order keeps its host port');

    const start = await t.tenant(order.secret).post('/api/v1/k8s/pod/start', {});
    assert.equal(start.statusCode, 200, start.body);
    const pod = await runningPod(order.id);
    assert.equal(pod.spec.containers[0]!.ports![0]!.hostPort, 5102);

    const restart = await t.tenant(order.secret).post('/api/v1/k8s/pod/restart', {});
    assert.equal(restart.statusCode, 200, restart.body);
    await runningPod(order.id, pod.metadata.name);
  });

  it('metadata annotation and label reach the Deployment', async () => {
    const a = await t.tenant(order.secret).post('/api/v1/k8s/deployment/metadata/annotation', { description: 'my shop' });
    assert.equal(a.statusCode, 200, a.body);
    const l = await t.tenant(order.secret).post('/api/v1/k8s/deployment/metadata/label', { customizedLabel: 'shop-v1' });
    assert.equal(l.statusCode, 200, l.body);
    await eventually(async () => {
      const d = await kube.get<{ metadata: { labels: Record<string, string>; annotations: Record<string, string> } }>(`/apis/apps/v1/namespaces/${namespaceOf(order.id)}/deployments/workload`);
      assert.equal(d.metadata.annotations['vkube.dev/description'], 'my shop');
      assert.equal(d.metadata.labels['vkube.dev/custom-label'], 'shop-v1');
    });
    const bad = await t.tenant(order.secret).post('/api/v1/k8s/deployment/metadata/label', { customizedLabel: 'no spaces allowed' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<{ error: { message: string } }>().error.message, /^customizedLabel:/);
  });

  it('POST, PATCH and DELETE /k8s/pod/ingress manage Ingresses; /k8s/pod/status carries the domains', async () => {
    const ns = namespaceOf(order.id);
    const post = await t.tenant(order.secret).post('/api/v1/k8s/pod/ingress', { domain: 'shop.example.com', containerPort: 80, isLetsencrypt: true, isEncryByself: false });
    assert.equal(post.statusCode, 200, post.body);
    await eventually(async () => {
      const list = await kube.get<{ items: Array<{ metadata: { annotations?: Record<string, string> }; spec: { rules: Array<{ host: string; http: { paths: Array<{ path: string }> } }>; tls?: unknown[] } }> }>(
        `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`,
      );
      assert.equal(list.items.length, 1);
      const ing = list.items[0]!;
      assert.equal(ing.spec.rules[0]!.host, 'shop.example.com');
      assert.equal(ing.spec.rules[0]!.http.paths[0]!.path, '/api(/|$)(.*)', 'the exposed path, rewritten');
      assert.equal(ing.metadata.annotations?.['cert-manager.io/cluster-issuer'], 'letsencrypt');
      assert.ok(ing.spec.tls?.length);
    });
    const status = (await t.tenant(order.secret).get('/api/v1/k8s/pod/status')).json<{ domains: unknown }>();
    assert.deepEqual(status.domains, [{ domain: 'shop.example.com', containerPort: 80, isHttps: true }]);

    const add = await t.app.inject({ method: 'PATCH', url: '/api/v1/k8s/pod/ingress', headers: { secret: order.secret }, payload: { action: 'Add', domains: ['www.shop.example.com'] } });
    assert.equal(add.statusCode, 200, add.body);
    await eventually(async () => assert.equal((await kube.get<{ items: unknown[] }>(`/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`)).items.length, 2));

    const other = await t.createOrder();
    const taken = await t.tenant(other.secret).post('/api/v1/k8s/deployment', clientBody(2));
    assert.equal(taken.statusCode, 200, taken.body);
    const clash = await t.tenant(other.secret).post('/api/v1/k8s/pod/ingress', { domain: 'shop.example.com', containerPort: 80 });
    assert.equal(clash.statusCode, 409);

    const del = await t.app.inject({ method: 'PATCH', url: '/api/v1/k8s/pod/ingress', headers: { secret: order.secret }, payload: { action: 'Del', domains: ['shop.example.com'] } });
    assert.equal(del.statusCode, 200);
    assert.deepEqual(del.json<{ domains: Array<{ domain: string }> }>().domains.map((d) => d.domain), ['www.shop.example.com']);
    const clear = await t.app.inject({ method: 'DELETE', url: '/api/v1/k8s/pod/ingress', headers: { secret: order.secret } });
    assert.equal(clear.statusCode, 200);
    await eventually(async () => assert.equal((await kube.get<{ items: unknown[] }>(`/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses`)).items.length, 0));
    const plain = (await t.tenant(order.secret).get('/api/v1/k8s/pod/status')).json<Record<string, unknown>>();
    assert.deepEqual(plain.domains, [], "the clients' domain menu reads [] when there are none");
  });

  it('GET /k8s/pod/logs streams Server-Sent Events and ends the upstream request when the client leaves', async () => {
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const received = await new Promise<string>((resolve, reject) => {
      const req = httpGet({ host: '127.0.0.1', port, path: '/api/v1/k8s/pod/logs?container=c1', headers: { secret: order.token, connection: 'close' } }, (res) => {
        assert.equal(res.statusCode, 200);
        assert.match(res.headers['content-type'] ?? '', /^text\/event-stream/);
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
          if (text.includes('ready')) {
            req.destroy();
            resolve(text);
          }
        });
      });
      req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
    });
    assert.match(received, /^data: vkube local cluster: container started$/m);
    assert.match(received, /^data: vkube local cluster: ready$/m);
    await eventually(() => assert.equal(activeLogStreams(), 0, 'the upstream log request was closed'));

    const noPod = await t.createOrder();
    const res = await t.tenant(noPod.secret).get('/api/v1/k8s/pod/logs?container=c1');
    assert.equal(res.statusCode, 404, 'errors before the stream starts are JSON');
    assert.equal(res.json<{ error: { code: number } }>().error.code, 404);
  });

  it('GET /monitor?allTypes=True&containers=c1 reports CPU and memory from the metrics API', async () => {
    const view = await eventually(
      async () => {
        const res = await t.tenant(order.secret).get('/api/v1/monitor?allTypes=True&containers=c1', MARKET_HEADERS);
        assert.equal(res.statusCode, 200, res.body);
        const v = res.json<{ cpu: Record<string, { value: number }>; memory: Record<string, { value: number; limitValue: number }>; networkDownload: { value: number }; networkUpload: { value: number }; storage: { value: number }; unavailable?: string[] }>();
        // Before the first usage sample the answer is already 200, with zeros named in `unavailable`.
        assert.ok(!v.unavailable?.includes('cpu'), `no sample yet: ${JSON.stringify(v)}`);
        return v;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    assert.ok(view.cpu.c1!.value > 0 && view.cpu.c1!.value < 1, `cpu in cores: ${view.cpu.c1!.value}`);
    assert.equal(view.memory.c1!.value, 12 * 2 ** 20, "kwok's simulated working set");
    assert.equal(view.memory.c1!.limitValue, 2 ** 30, 'one unit');
    for (const k of ['networkDownload', 'networkUpload', 'storage'] as const) assert.equal(typeof view[k].value, 'number');
    const all = await t.tenant(order.secret).get('/api/v1/monitor?allContainers=True&types=cpu');
    assert.deepEqual(Object.keys(all.json<object>()), ['cpu']);
    const bad = await t.tenant(order.secret).get('/api/v1/monitor?containers=nope');
    assert.equal(bad.statusCode, 400);
  });
});

describe('orders that let V-Kube choose host ports', () => {
  it('get free random host ports, kept across updates and restarts', async () => {
    const order = await t.createOrder({ serviceOptions: { resourceUnit: '2-Unit-Resource', portSpecification: 'System Random Map Port' } });
    const body = (hostPort: number) => ({
      containers: [{ name: 'web', imageName: 'nginx', resourceUnit: 1, ports: [{ containerPort: 80, hostPort }, { containerPort: 443 }] }],
    });
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deployment', body(8080));
    assert.equal(res.statusCode, 200, res.body);
    const ports = res.json<{ containers: Array<{ ports: Array<{ hostPort: number }> }> }>().containers[0]!.ports.map((p) => p.hostPort);
    assert.equal(ports.length, 2);
    assert.ok(ports.every((p) => p >= 20000 && p < 30000), `random ports ${ports}`);
    assert.notEqual(ports[0], 8080, 'the client cannot pick');

    const updated = await t.tenant(order.secret).post('/api/v1/k8s/deployment/update', { containers: [{ ...body(1).containers[0], envs: [{ name: 'X', value: '1' }] }] });
    assert.equal(updated.statusCode, 200, updated.body);
    assert.deepEqual(updated.json<{ containers: Array<{ ports: Array<{ hostPort: number }> }> }>().containers[0]!.ports.map((p) => p.hostPort), ports);
    assert.equal((await t.tenant(order.secret).post('/api/v1/k8s/pod/restart', {})).statusCode, 200);
    const info = (await t.tenant(order.secret).get('/api/v1/k8s/deployment/info')).json<{ containers: Array<{ ports: Array<{ hostPort: number }> }> }>();
    assert.deepEqual(info.containers[0]!.ports.map((p) => p.hostPort), ports);
  });
});

describe('images', () => {
  it('PATCH /k8s/pod/images checks images in their registry first and rolls out with a pull Secret', async () => {
    const order = await t.createOrder();
    const image = `${registry.host}/team/app`;
    const first = await t.tenant(order.secret).post('/api/v1/k8s/deployment', {
      containers: [{ name: 'app', imageName: `${image}:v1`, resourceUnit: 1 }],
      pvtLogin: [{ username: 'alice', password: 'wonderland' }],
    });
    assert.equal(first.statusCode, 200, first.body);
    assert.deepEqual(first.json<{ warnings: string[] }>().warnings, []);
    const secret = await kube.get<{ type: string; data: Record<string, string> }>(`/api/v1/namespaces/${namespaceOf(order.id)}/secrets/registry-login-0`);
    assert.equal(secret.type, 'kubernetes.io/dockerconfigjson');
    const auths = JSON.parse(Buffer.from(secret.data['.dockerconfigjson']!, 'base64').toString()) as { auths: Record<string, { username: string }> };
    assert.equal(auths.auths[registry.host]?.username, 'alice');

    const missing = await t.app.inject({
      method: 'PATCH',
      url: '/api/v1/k8s/pod/images',
      headers: { secret: order.secret },
      payload: [{ image: `${image}:nope`, login: { username: 'alice', password: 'wonderland' } }],
    });
    assert.equal(missing.statusCode, 400);
    assert.match(missing.json<{ error: { message: string } }>().error.message, new RegExp(`^containers\\[0\\]\\.imageName: image ${image.replace(/\./g, '\\.')}:nope does not exist`));

    const denied = await t.app.inject({ method: 'PATCH', url: '/api/v1/k8s/pod/images', headers: { secret: order.secret }, payload: [{ image: `${image}:v2`, login: { username: 'alice', password: 'wrong' } }] });
    assert.equal(denied.statusCode, 400);
    assert.match(denied.json<{ error: { message: string } }>().error.message, /^pvtLogin\[0\]: the registry refused the credentials/);

    const ok = await t.app.inject({ method: 'PATCH', url: '/api/v1/k8s/pod/images', headers: { secret: order.secret }, payload: [{ image: `${image}:v2`, login: { username: 'alice', password: 'wonderland' } }] });
    assert.equal(ok.statusCode, 200, ok.body);
    await eventually(async () => {
      const pods = await livePods(order.id);
      assert.equal(pods.length, 1);
      assert.equal(pods[0]!.spec.containers[0]!.image, `${image}:v2`);
    });
  });

  it('GET /k8s/images checks a private registry with base64 Username/Password headers', async () => {
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const imageUrl = (tag: string) => `/api/v1/k8s/images?image=${encodeURIComponent(`${registry.host}/team/app`)}&tag=${tag}`;
    const url = imageUrl('v1');
    assert.deepEqual((await t.app.inject({ url, headers: { username: b64('alice'), password: b64('wonderland') } })).json(), { status: 'OK' });
    const missing = await t.app.inject({ url: imageUrl('v9'), headers: { username: b64('alice'), password: b64('wonderland') } });
    assert.deepEqual(missing.json(), { error: { code: 404, message: 'image does not exist.' } });
    const denied = await t.app.inject({ url, headers: { username: b64('alice'), password: b64('nope') } });
    assert.equal(denied.statusCode, 403);
    const malformed = await t.app.inject('/api/v1/k8s/images?image=nginx');
    assert.deepEqual(malformed.json(), { error: { code: 400, message: 'image format not allow.Format: image:tag' } });
    const down = await t.app.inject('/api/v1/k8s/images?image=127.0.0.1:9/x&tag=v1');
    assert.equal(down.statusCode, 502);
  });
});

describe('GET /userService/{id} and GET /k8s/notice', () => {
  it("seals the secret to the order's public key; a reference libsodium (PyNaCl) opens it", async () => {
    const keys = await python(`
from nacl.public import PrivateKey
k = PrivateKey.generate()
print(bytes(k.public_key).hex(), bytes(k).hex())`);
    const [pubHex, privHex] = keys.trim().split(' ') as [string, string];
    const publicKey = bs58.encode(Buffer.from(pubHex, 'hex'));
    const order = await t.createOrder({ publicKey });
    const res = await t.app.inject(`/api/v1/userService/${order.id}`);
    assert.equal(res.statusCode, 200);
    const body = res.json<{ id: string; serviceOptions: Record<string, string>; magic: string }>();
    assert.equal(body.id, order.id);
    assert.equal(body.serviceOptions.resourceUnit, '2-Unit-Resource');
    const sealedHex = Buffer.from(bs58.decode(body.magic)).toString('hex');
    const opened = await python(`
from nacl.public import PrivateKey, SealedBox
print(SealedBox(PrivateKey(bytes.fromhex("${privHex}"))).decrypt(bytes.fromhex("${sealedHex}")).decode())`);
    assert.deepEqual(JSON.parse(opened), { Secret: order.secret });
    assert.equal((await t.app.inject('/api/v1/userService/000000000000000000000000')).statusCode, 404);
  });

  it('lists expiry notices for the address, paged', async () => {
    const address = `0x${Math.random().toString(16).slice(2)}`;
    const order = await t.createOrder({ address, duration: 1 });
    assert.equal((await t.tenant(order.secret).post('/api/v1/k8s/deployment', { containers: [{ name: 'c', imageName: 'nginx' }] })).statusCode, 200);
    // Within a day of its end (the default notice window), the reconciler warns once.
    await t.services.reconciler.reconcile(order.id);
    await t.services.reconciler.reconcile(order.id);
    const res = await t.app.inject({ url: '/api/v1/k8s/notice?current=1&pageSize=10', headers: { address } });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json<{ list: Array<{ timestamp: number; serviceID: string; noticeType: string }>; pagination: { total: number } }>();
    assert.equal(body.pagination.total, 1);
    assert.equal(body.list[0]!.noticeType, 'ServiceExpiringSoon');
    const filtered = await t.app.inject({ url: '/api/v1/k8s/notice?current=1&pageSize=10&serviceID=nope', headers: { address } });
    assert.equal(filtered.json<{ pagination: { total: number } }>().pagination.total, 0);
    assert.equal((await t.app.inject('/api/v1/k8s/notice')).statusCode, 400);
  });
});

describe('every route of section 3 answers JSON, never 501', () => {
  it('each path exists', async () => {
    const order = await t.createOrder();
    for (const [method, url] of [
      ['GET', '/api/v1/k8s/userService'],
      ['POST', '/api/v1/k8s/deployment'],
      ['POST', '/api/v1/k8s/deployment/update'],
      ['GET', '/api/v1/k8s/deployment/info'],
      ['GET', '/api/v1/k8s/pod/logs'],
      ['POST', '/api/v1/k8s/pod/restart'],
      ['POST', '/api/v1/k8s/pod/stop'],
      ['POST', '/api/v1/k8s/pod/start'],
      ['PUT', '/api/v1/k8s/pod/update'],
      ['GET', '/api/v1/k8s/pod/configmap'],
      ['PATCH', '/api/v1/k8s/pod/images'],
      ['POST', '/api/v1/k8s/pod/ingress'],
      ['PATCH', '/api/v1/k8s/pod/ingress'],
      ['DELETE', '/api/v1/k8s/pod/ingress'],
      ['POST', '/api/v1/k8s/deployment/metadata/annotation'],
      ['POST', '/api/v1/k8s/deployment/metadata/label'],
      ['GET', '/api/v1/monitor?allTypes=True'],
      ['GET', `/api/v1/userService/${order.id}`],
      ['GET', '/api/v1/k8s/notice'],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: { secret: order.secret, address: '0x1' }, ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }) });
      assert.notEqual(res.statusCode, 501, `${method} ${url}`);
      assert.ok(res.statusCode < 500, `${method} ${url}: ${res.statusCode} ${res.body}`);
      assert.doesNotThrow(() => res.json(), `${method} ${url} answers JSON`);
      if (res.statusCode >= 400) assert.ok('error' in res.json<object>(), `${method} ${url} uses the envelope`);
      else assert.ok(!('error' in res.json<object>()));
    }
  });
});

function python(code: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', code], (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout)));
  });
}

