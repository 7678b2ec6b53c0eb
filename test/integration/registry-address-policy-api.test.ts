/**
 * The address policy of image checks through the API, on the local cluster: what an
 * anonymous caller of `GET /k8s/images` learns about addresses it may not reach
 * (nothing: one plain 400, whether a port is open or closed), what a tenant's deploy
 * and `PATCH /k8s/pod/images` answer (400 naming the registry, nothing deployed), that
 * allowed private registries' connection errors stay in the log, and that
 * VKUBE_PRIVATE_REGISTRIES reaches the checks. The listeners are on 127.0.0.2 and
 * 127.0.0.3, which the test app does not allow; nothing leaves the machine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort } from '../../dev/free-port.js';
import {
  type CountingListener,
  type ScriptedServer,
  startCountingListener,
  startScriptedServer,
} from '../../dev/registry/testing.js';
import type { RegistryLogEvent } from '../../src/registry/oci-client.js';
import { type TestApp, seedDeployOfImage, startTestApp } from '../helpers/app.js';

/** A host port of its own, so this file never competes with the other suites for one. */
const HOST_PORT = 4392;
const NOT_ALLOWED = {
  error: { code: 400, message: 'image registry not allowed: V-Kube contacts no loopback, private, link-local or cluster address unless the provider allows it' },
};
const DIGEST = `sha256:${'cd'.repeat(32)}`;
const imagesUrl = (image: string, tag: string) => `/api/v1/k8s/images?image=${encodeURIComponent(image)}&tag=${encodeURIComponent(tag)}`;

let t: TestApp;
const logged: RegistryLogEvent[] = [];
let open2: CountingListener;
let open3: CountingListener;
let closed2: string;
let local1: CountingListener;
let redirecting: ScriptedServer;

before(async () => {
  [open2, open3, local1] = await Promise.all([startCountingListener('127.0.0.2'), startCountingListener('127.0.0.3'), startCountingListener('127.0.0.1')]);
  closed2 = `127.0.0.2:${await freeLoopbackPort('127.0.0.2')}`;
  // Allowed (127.0.0.1 is the test registries' address), but sends every check to 127.0.0.3.
  redirecting = await startScriptedServer('127.0.0.1', (req, res) => {
    res.writeHead(307, { Location: `http://${open3.host}${req.url}` });
    res.end();
  });
  t = await startTestApp({ registryLog: (event) => logged.push(event) });
});
after(async () => {
  await t?.close();
  await Promise.all([open2?.stop(), open3?.stop(), local1?.stop(), redirecting?.stop()]);
});

function assertNothingConnected(): void {
  assert.equal(open2.connections(), 0, `something connected to ${open2.host}`);
  assert.equal(open3.connections(), 0, `something connected to ${open3.host}`);
}

describe('GET /k8s/images, anonymous', () => {
  it('a registry on 127.0.0.2: the same plain 400 for an open port and a closed one, nothing connected, the detail in the log', async () => {
    logged.length = 0;
    const open = await t.app.inject(imagesUrl(`${open2.host}/team/app`, 'v1'));
    const closed = await t.app.inject(imagesUrl(`${closed2}/team/app`, 'v1'));
    assert.equal(open.statusCode, 400, open.body);
    assert.deepEqual(open.json(), NOT_ALLOWED);
    assert.equal(closed.statusCode, open.statusCode);
    assert.equal(closed.body, open.body, 'an open and a closed port answer alike');
    assertNothingConnected();
    assert.equal(logged.length, 2, JSON.stringify(logged));
    assert.match(logged[0]!.detail, new RegExp(`${open2.host.replaceAll('.', '\\.')} was not contacted: 127\\.0\\.0\\.2 is a loopback address`));
  });

  it('the metadata address, a private one, a mapped loopback: the same 400, before any connection', async () => {
    for (const image of ['169.254.169.254/latest/meta-data', '10.0.0.1:10250/pods', '[::ffff:127.0.0.2]:5000/team/app']) {
      const res = await t.app.inject(imagesUrl(image, 'v1'));
      assert.equal(res.statusCode, 400, `${image}: ${res.body}`);
      assert.deepEqual(res.json(), NOT_ALLOWED, image);
    }
  });

  it('an allowed registry that redirects to 127.0.0.3: the same 400, the redirect not followed', async () => {
    const res = await t.app.inject(imagesUrl(`${redirecting.host}/team/app`, 'v1'));
    assert.deepEqual(res.json(), NOT_ALLOWED, res.body);
    assert.ok(redirecting.requests.length > 0, 'the allowed registry was asked');
    assertNothingConnected();
  });

  it('an allowed private registry (127.0.0.1) that drops the connection: 502 without the connection error, which goes to the log', async () => {
    logged.length = 0;
    const res = await t.app.inject(imagesUrl(`${local1.host}/team/app`, 'v1'));
    assert.equal(res.statusCode, 502, res.body);
    assert.deepEqual(res.json(), { error: { code: 502, message: `the image registry could not be reached: registry ${local1.host} could not be reached` } });
    assert.ok(local1.connections() > 0, 'it was contacted');
    assert.match(logged.map((e) => e.detail).join('\n'), /closed the connection/);
  });
});

describe('deploy and PATCH /k8s/pod/images, as a tenant', () => {
  let secret: string;
  before(async () => {
    ({ secret } = await t.createOrder({ serviceOptions: { resourceUnit: '2-Unit-Resource', region: 'ausrine' } }));
  });

  const deployOf = (imageName: string) => seedDeployOfImage(imageName, HOST_PORT);

  it('a deploy of an image on 127.0.0.2: 400 naming the registry, nothing deployed, nothing connected', async () => {
    const res = await t.tenant(secret).post('/api/v1/k8s/deploy', deployOf(`${open2.host}/team/app:v1`));
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(
      res.json<{ error: { message: string } }>().error.message,
      `containers[0].imageName: registry ${open2.host} is not allowed: V-Kube contacts no loopback, private, link-local or cluster address unless the provider allows it`,
    );
    const service = await t.tenant(secret).get('/api/v1/k8s/userService');
    assert.equal(service.json<{ status: string }>().status, 'ServicePending', 'nothing was deployed');
    assertNothingConnected();
  });

  it('PATCH /k8s/pod/images to an image behind a refused redirect: 400, the running spec unchanged', async () => {
    const first = await t.tenant(secret).post('/api/v1/k8s/deploy', deployOf('nginx:1.27'));
    assert.equal(first.statusCode, 200, first.body);
    const res = await t.tenant(secret).request('PATCH', '/api/v1/k8s/pod/images', [{ image: `${redirecting.host}/team/app:v2` }]);
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.json<{ error: { message: string } }>().error.message, new RegExp(`^containers\\[0\\]\\.imageName: registry ${redirecting.host.replaceAll('.', '\\.')} is not allowed`));
    const info = await t.tenant(secret).get('/api/v1/k8s/deployment/info');
    assert.equal(info.json<{ containers: Array<{ imageName: string }> }>().containers[0]!.imageName, 'nginx:1.27');
    assertNothingConnected();
  });
});

describe("the cluster's own addresses", () => {
  it("the gateway reports the nodes' InternalIPs, which the checks refuse (the test app passes them, as main does)", async () => {
    const addresses = t.services.cluster.nodeAddresses();
    assert.ok(addresses.length >= 3, `the three fake nodes' addresses: ${JSON.stringify(addresses)}`);
    for (const address of addresses) {
      const res = await t.app.inject(imagesUrl(`${address}:10250/team/app`, 'v1'));
      assert.deepEqual(res.json(), NOT_ALLOWED, `${address}: ${res.body}`);
    }
  });
});

describe('VKUBE_PRIVATE_REGISTRIES reaches the checks', () => {
  let other: TestApp;
  let registry3: ScriptedServer;
  before(async () => {
    registry3 = await startScriptedServer('127.0.0.3', (_req, res) => {
      res.writeHead(200, { 'Docker-Content-Digest': DIGEST, 'Content-Length': '0' });
      res.end();
    });
    other = await startTestApp({ env: { VKUBE_PRIVATE_REGISTRIES: `127.0.0.1,${registry3.host}` } });
  });
  after(async () => {
    await other?.close();
    await registry3?.stop();
  });

  it('a registry on 127.0.0.3 allowed by host:port is asked; another port of 127.0.0.3 still is not', async () => {
    assert.deepEqual(other.config.registry.privateRegistries, ['127.0.0.1', registry3.host]);
    const ok = await other.app.inject(imagesUrl(`${registry3.host}/team/app`, 'v1'));
    assert.deepEqual(ok.json(), { status: 'OK' }, ok.body);
    assert.deepEqual(registry3.requests, ['HEAD /v2/team/app/manifests/v1']);
    const refused = await other.app.inject(imagesUrl(`${open3.host}/team/app`, 'v1'));
    assert.deepEqual(refused.json(), NOT_ALLOWED, refused.body);
    assertNothingConnected();
  });
});
