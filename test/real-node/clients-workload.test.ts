/**
 * The original clients' calls on the real node: a `persistStorage` order's data lives
 * on a real volume (the local-path provisioner's directory on the node) and survives a
 * restart, a stop and start, an update and a config change; the environment and the
 * configuration files reach the container, which shows them in its own output; an update
 * that drops a container, a host port and a variable really removes them from the node
 * (the first deploy creates the Deployment, the update applies over it); and
 * what common images do as root at start (chown, bind port 80, drop to another user)
 * works under V-Kube's hardened security context and admission policy.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { httpGet, pushAppImage, pushTestImageFor, realNodeOrSkip, served, testHostPort, testOrders } from '../helpers/real-node.js';

const { node, skip } = await realNodeOrSkip();
let t: TestApp;
let kube: KubeHttp;
let app: { image: string };
const orders = testOrders(() => t);

before(async () => {
  if (!node) return;
  t = await startTestApp({ env: { VKUBE_UNIT_MEMORY: '64Mi', VKUBE_UNIT_CPU: '250m', VKUBE_UNIT_STORAGE: '64Mi' } });
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
  app = await pushAppImage(node);
});
after(async () => {
  await t?.close();
  kube?.close();
});
afterEach(() => orders.abortAll());

interface Pvc {
  spec: { storageClassName?: string; volumeName?: string };
  status: { phase: string };
}
interface Pv {
  spec: { storageClassName: string; hostPath?: { path: string }; local?: { path: string } };
}

/** The clients' body: one container running the app with env, configuration files and a data volume. */
function clientsBody(hostPort: number, greeting: string, config: { file: string; extra: string }): Record<string, unknown> {
  return {
    containers: [
      {
        name: 'web',
        imageName: app.image,
        resourceUnit: 1,
        ports: [{ containerPort: 80, hostPort, protocol: 'TCP' }],
        envs: [
          { name: 'APP_GREETING', value: greeting },
          { name: 'APP_TOKEN', value: `clients-${hostPort}` },
          { name: 'DATA_DIR', value: '/data/app' },
          { name: 'SHOW_FILES', value: '/etc/app/app.conf /etc/extra/extra.conf' },
        ],
        mountPath: '/data',
        configMountPath: '/etc/app/app.conf',
        config: config.file,
        configMap: { '/etc/extra/extra.conf': config.extra },
      },
    ],
    pvtLogin: [{ username: '', password: '' }],
  };
}

describe("the clients' API on the real node", { skip }, () => {
  it('keeps a persistStorage order\'s data across restart, stop/start, update and a config change; env and config files reach the container', { timeout: 300_000 }, async () => {
    const n = node!;
    const order = await orders.create({ serviceOptions: { resourceUnit: '2-Unit-Resource', region: n.region, persistStorage: 'Yes' } });
    const tenant = t.tenant(order.secret);
    const hostPort = testHostPort();
    const page = (starts: number) => served(n, hostPort, new RegExp(`^starts=${starts}$`, 'm'), 90_000);

    const deploy = await tenant.post('/api/v1/k8s/deployment', clientsBody(hostPort, 'hello', { file: 'mode = first\n', extra: 'extra one\n' }));
    assert.equal(deploy.statusCode, 200, deploy.body);
    const first = await page(1);
    assert.match(first, /^env APP_GREETING=hello$/m, 'env reaches the container');
    assert.match(first, /^file \/etc\/app\/app\.conf: mode = first\|$/m, 'config + configMountPath');
    assert.match(first, /^file \/etc\/extra\/extra\.conf: extra one\|$/m, 'configMap');
    const log = (await tenant.get('/api/v1/k8s/pod/log?container=web')).json<string>();
    assert.match(log, /^env APP_GREETING=hello$/m, "the container's own output shows its environment");
    assert.match(log, /^file \/etc\/app\/app\.conf: mode = first\|$/m);

    // A real claim, bound by the real provisioner, to a directory on the node.
    const ns = namespaceOf(order.id);
    const pvc = await kube.get<Pvc>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/data`);
    assert.equal(pvc.status.phase, 'Bound');
    assert.equal(pvc.spec.storageClassName, 'local-path', 'the default class');
    const pv = await kube.get<Pv>(`/api/v1/persistentvolumes/${pvc.spec.volumeName}`);
    const volumeDir = pv.spec.hostPath?.path ?? pv.spec.local?.path;
    assert.ok(volumeDir?.startsWith(n.layout.volumesDir), `volume ${volumeDir} on the node's disk`);

    assert.equal((await tenant.post('/api/v1/k8s/pod/restart', {})).statusCode, 200);
    await page(2);

    assert.equal((await tenant.post('/api/v1/k8s/pod/stop', {})).statusCode, 200);
    await eventually(() => assert.rejects(httpGet(`http://${n.ip}:${hostPort}/`, 1000), 'nothing answers while stopped'), { timeoutMs: 60_000 });
    assert.equal((await tenant.post('/api/v1/k8s/pod/start', {})).statusCode, 200);
    await page(3);

    const update = await tenant.post('/api/v1/k8s/deployment/update', clientsBody(hostPort, 'bonjour', { file: 'mode = first\n', extra: 'extra one\n' }));
    assert.equal(update.statusCode, 200, update.body);
    const updated = await page(4);
    assert.match(updated, /^env APP_GREETING=bonjour$/m, 'the update reached the container');

    const change = await t.app.inject({ method: 'PUT', url: '/api/v1/k8s/pod/update', headers: { secret: order.secret }, payload: { config: { web: 'mode = second\n' }, environment: { web: { APP_GREETING: 'hej' } } } });
    assert.equal(change.statusCode, 200, change.body);
    const changed = await page(5);
    assert.match(changed, /^file \/etc\/app\/app\.conf: mode = second\|$/m);
    assert.match(changed, /^env APP_GREETING=hej$/m);

    // The count lives on the node's disk, in the container's own subdirectory of the claim.
    assert.equal((await readFile(join(volumeDir!, 'web', 'app', 'starts'), 'utf8')).trim(), '5');
  });

  it('an update that drops a container, its host port and a variable: the port stops answering on the node, the rest serves the new spec', { timeout: 240_000 }, async () => {
    const n = node!;
    const order = await orders.create({ serviceOptions: { resourceUnit: '2-Unit-Resource', region: n.region } });
    const tenant = t.tenant(order.secret);
    const [kept, dropped] = [testHostPort(), testHostPort()];
    const web = (token: string, envs: Array<{ name: string; value: string }>) => ({
      name: 'web',
      imageName: app.image,
      resourceUnit: 1,
      ports: [{ containerPort: 80, hostPort: kept, protocol: 'TCP' }],
      envs: [{ name: 'APP_TOKEN', value: token }, ...envs],
    });
    const side = { name: 'side', imageName: app.image, resourceUnit: 1, ports: [{ containerPort: 81, hostPort: dropped, protocol: 'TCP' }], envs: [{ name: 'APP_TOKEN', value: 'side' }, { name: 'PORT', value: '81' }] };

    // The first deploy creates the Deployment; the update is the apply that must remove what the create owned.
    const first = await tenant.post('/api/v1/k8s/deployment', { containers: [web('one', [{ name: 'APP_EXTRA', value: 'present' }]), side], pvtLogin: [{ username: '', password: '' }, { username: '', password: '' }] });
    assert.equal(first.statusCode, 200, first.body);
    assert.match(await served(n, kept, /^token=one$/m, 90_000), /^env APP_EXTRA=present$/m);
    await served(n, dropped, /^token=side$/m);

    const update = await tenant.post('/api/v1/k8s/deployment/update', { containers: [web('two', [])], pvtLogin: [{ username: '', password: '' }] });
    assert.equal(update.statusCode, 200, update.body);
    const page = await served(n, kept, /^token=two$/m, 90_000);
    assert.doesNotMatch(page, /APP_EXTRA/, 'the dropped variable is gone from the container');
    await eventually(() => assert.rejects(httpGet(`http://${n.ip}:${dropped}/`, 1000), 'nothing answers on the dropped host port'), { timeoutMs: 60_000 });

    const deployment = await kube.get<{ spec: { template: { spec: { containers: Array<{ name: string; ports?: Array<{ hostPort?: number }> }> } } } }>(
      `/apis/apps/v1/namespaces/${namespaceOf(order.id)}/deployments/workload`,
    );
    assert.deepEqual(
      deployment.spec.template.spec.containers.map((c) => [c.name, (c.ports ?? []).map((p) => p.hostPort)]),
      [['web', [kept]]],
    );
  });

  it("runs what common root images do at start under the hardened security context: chown, bind port 80, drop to another user", { timeout: 120_000 }, async () => {
    const n = node!;
    // As nginx, postgres or redis images do: as root, prepare directories and hand them to
    // the service's user, bind the privileged port, then serve as that user.
    const entrypoint = `#!/bin/sh
set -e
mkdir -p /var/lib/app /www
chown -R nobody:nogroup /var/lib/app
chmod 0700 /var/lib/app
su -s /bin/sh nobody -c 'echo written-by-$(id -u) > /var/lib/app/state'
echo "uid=$(id -u)" > /www/index.html
echo "state=$(cat /var/lib/app/state)" >> /www/index.html
echo "owner=$(stat -c %U /var/lib/app/state)" >> /www/index.html
echo ready
trap 'exit 0' TERM
httpd -f -vv -p 80 -u nobody:nogroup -h /www &
wait
`;
    const image = await pushTestImageFor(n, 'vkube-test/rootish', { files: { 'docker-entrypoint.sh': entrypoint }, config: { Entrypoint: ['/docker-entrypoint.sh'] } });
    const order = await orders.create({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: n.region } });
    const hostPort = testHostPort();
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', {
      nodeSelector: { region: n.region },
      containers: [{ name: 'rootish', imageName: image.image, ports: [{ containerPort: 80, hostPort }], resource: { memory: '64Mi' } }],
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = await served(n, hostPort, /^owner=/m);
    assert.match(body, /^uid=0$/m, 'starts as root');
    assert.match(body, /^state=written-by-65534$/m, 'dropped to nobody (SETUID, SETGID)');
    assert.match(body, /^owner=nobody$/m, 'chown worked (CHOWN)');
    const pod = await kube.get<{ items: Array<{ spec: { containers: Array<{ securityContext: Record<string, unknown> }> } }> }>(`/api/v1/namespaces/${namespaceOf(order.id)}/pods`);
    const sc = pod.items[0]!.spec.containers[0]!.securityContext;
    assert.equal(sc.allowPrivilegeEscalation, false);
    assert.deepEqual((sc.capabilities as { drop: string[] }).drop, ['ALL']);
    assert.deepEqual(sc.seccompProfile, { type: 'RuntimeDefault' });
  });
});
