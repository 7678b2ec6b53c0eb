/**
 * NetworkPolicy on the real node (region laima), enforced by kube-router: the policy
 * V-Kube gives every order keeps orders apart (deny-by-default between namespaces) and
 * keeps an order's pod off private ranges such as the node's own address, while the
 * order still talks to itself and its published host ports still answer. A pod in a
 * namespace of the test's own, without any policy, makes the same connections and gets
 * through: the checks fail if nothing enforces.
 *
 * Every connection goes to this machine only: pods on the node's bridge, the pod's own
 * loopback, and the node's address. Each pod serves a probe, /cgi-bin/probe?<ip>:<port>,
 * that fetches http://<ip>:<port>/ from inside the pod, so the test asks for each
 * attempt once kube-router has written the pod's rules (no race with its sync). Each order
 * is deployed once its sale-time isolation is in place, as customers meet it: the policy
 * made at sale already opens the published ports by the names the pod gives them, and the
 * deploy writes the Deployment alone.
 */
import * as k8s from '@kubernetes/client-node';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { stateDir } from '../../dev/cluster/config.js';
import { enforcesNetworkPolicies, guardedPods, networkPolicySummary } from '../../dev/cluster/real-node/network-policy.js';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { namespaceOf } from '../../src/domain/manifests.js';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { eventually, uniqueSuffix } from '../helpers/eventually.js';
import { httpGet, pushTestImageFor, realNodeOrSkip, type RealNodeHandle, served, testHostPort, testOrders } from '../helpers/real-node.js';

const { node, skip: noNode } = await realNodeOrSkip();
const skip = noNode ?? ((await enforcesNetworkPolicies(stateDir())) ? undefined : `network policies: ${await networkPolicySummary(stateDir())}`);

/** Serves "$NAME" on every port of $PORTS, and the probe. */
const SERVE_SCRIPT = `#!/bin/sh
mkdir -p /www/cgi-bin
echo "$NAME" > /www/index.html
cp /app/probe.cgi /www/cgi-bin/probe
for p in $PORTS; do httpd -f -p "$p" -h /www & done
echo "$NAME serving on $PORTS"
trap 'exit 0' TERM INT
wait
`;

/** GET /cgi-bin/probe?<ip>:<port>: one fetch from inside this pod; answers and logs "reached <body>" or "failed <why>". */
const PROBE_CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
case "$QUERY_STRING" in
  *[!0-9.:]*|'') echo "not a target: $QUERY_STRING"; exit 0 ;;
esac
# busybox wget -T crashes in Debian's static busybox 1.35; timeout bounds the attempt instead.
if out=$(timeout 3 wget -qO- "http://$QUERY_STRING/" 2>&1); then r="reached $out"; else r="failed $out"; fi
echo "$r"
echo "probe $QUERY_STRING: $r" > /proc/1/fd/1
`;

let t: TestApp;
let image: string;
const orders = testOrders(() => t);
const controlNamespace = `netpol-control-${uniqueSuffix()}`;
let core: k8s.CoreV1Api;

before(async () => {
  if (skip) return;
  t = await startTestApp({ env: { VKUBE_UNIT_MEMORY: '64Mi', VKUBE_UNIT_CPU: '250m' } });
  core = testKubeClient().makeApiClient(k8s.CoreV1Api);
  const pushed = await pushTestImageFor(node!, 'vkube-test/netpol', {
    files: { 'app/serve.sh': SERVE_SCRIPT, 'app/probe.cgi': PROBE_CGI },
    config: { Entrypoint: ['/app/serve.sh'] },
  });
  image = pushed.image;
});
after(async () => {
  await core?.deleteNamespace({ name: controlNamespace }).catch(() => {});
  await t?.close();
});
afterEach(() => orders.abortAll());

interface PodView {
  name: string;
  podStatus: { phase: string; podIP?: string; containerStatuses?: Array<{ ready: boolean }> };
}

/** Deploys through the seed API on the real node; resolves the running pod's name and address. */
async function deployOrder(n: RealNodeHandle, containers: Array<Record<string, unknown>>): Promise<{ namespace: string; pod: string; ip: string }> {
  const order = await orders.create({ serviceOptions: { resourceUnit: '2-Unit-Resource', region: n.region } });
  // Deployed once its sale-time isolation is in place, as a customer meets it: the deploy then
  // writes the Deployment alone (its published ports carry the names the policy opens).
  await eventually(() => assert.ok(t.services.cluster.holdsIsolation('NetworkPolicy', namespaceOf(order.id), 'order-isolation'), 'deny-by-default policy made at sale'), { timeoutMs: 30_000 });
  const tenant = t.tenant(order.secret);
  const res = await tenant.post('/api/v1/k8s/deploy', { nodeSelector: { region: n.region }, containers });
  assert.equal(res.statusCode, 200, res.body);
  const view = await eventually(async () => {
    const s = await tenant.get('/api/v1/k8s/pod/status');
    assert.equal(s.statusCode, 200, s.body);
    const v = s.json<PodView>();
    assert.ok(v.podStatus.podIP && v.podStatus.containerStatuses?.every((c) => c.ready), `pod running with an address: ${JSON.stringify(v.podStatus)}`);
    return v;
  }, { timeoutMs: 90_000, intervalMs: 500 });
  return { namespace: namespaceOf(order.id), pod: view.name, ip: view.podStatus.podIP! };
}

/** A container of the test image serving `name` on `ports`, under V-Kube's pod guard. */
function servingContainer(name: string, ports: string, memory = '32Mi'): k8s.V1Container {
  return {
    name: 'web',
    image,
    env: [
      { name: 'NAME', value: name },
      { name: 'PORTS', value: ports },
    ],
    resources: { requests: { memory, cpu: '100m' }, limits: { memory, cpu: '100m' } },
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } },
  };
}

/** A pod the test makes itself (the order's neighbour, the control), on the real node. */
async function plainPod(n: RealNodeHandle, namespace: string, name: string, serves: string): Promise<{ namespace: string; pod: string; ip: string }> {
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name },
      spec: {
        nodeSelector: { region: n.region },
        automountServiceAccountToken: false,
        securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
        containers: [servingContainer(serves, '80')],
      },
    },
  });
  const ip = await eventually(async () => {
    const pod = await core.readNamespacedPod({ name, namespace });
    assert.ok(pod.status?.podIP && pod.status.containerStatuses?.every((c) => c.ready), `${namespace}/${name} running: ${JSON.stringify(pod.status?.containerStatuses)}`);
    return pod.status.podIP;
  }, { timeoutMs: 90_000, intervalMs: 500 });
  return { namespace, pod: name, ip };
}

/** What `from`'s probe says of one fetch of http://<target>/ made inside that pod. */
async function probe(from: string, target: string): Promise<string> {
  const res = await httpGet(`${from}/cgi-bin/probe?${target}`, 10_000);
  assert.equal(res.status, 200, `probe at ${from}: ${res.body}`);
  return res.body.trim();
}

describe('NetworkPolicy on the real node (kube-router)', { skip }, () => {
  let nodeServer: Server | undefined;
  after(() => new Promise<void>((resolve) => (nodeServer ? nodeServer.close(() => resolve()) : resolve())));

  it("keeps orders apart and off the node's address, lets an order reach itself, and leaves published ports open", { timeout: 300_000 }, async () => {
    const n = node!;
    // A server on the node's own address: the private address an order's pod must not reach.
    const callers: string[] = [];
    nodeServer = createServer((req, res) => {
      callers.push(req.socket.remoteAddress ?? '?');
      res.end('node-server\n');
    });
    await new Promise<void>((resolve) => nodeServer!.listen(0, n.ip, resolve));
    const nodeTarget = `${n.ip}:${(nodeServer.address() as AddressInfo).port}`;

    // Order B serves on 80, published at a host port, and on 8080, published nowhere.
    const hostPortB = testHostPort();
    const b = await deployOrder(n, [
      { name: 'web', imageName: image, ports: [{ containerPort: 80, hostPort: hostPortB }], resource: { memory: '32Mi' }, env: [{ name: 'NAME', value: 'order-b' }, { name: 'PORTS', value: '80 8080' }] },
    ]);
    // Order A: the prober at a host port, a second container on 8081, and a neighbour pod in its namespace.
    const hostPortA = testHostPort();
    const a = await deployOrder(n, [
      { name: 'probe', imageName: image, ports: [{ containerPort: 80, hostPort: hostPortA }], resource: { memory: '32Mi' }, env: [{ name: 'NAME', value: 'order-a' }, { name: 'PORTS', value: '80' }] },
      { name: 'second', imageName: image, resource: { memory: '32Mi' }, env: [{ name: 'NAME', value: 'order-a-second' }, { name: 'PORTS', value: '8081' }] },
    ]);
    const neighbour = await plainPod(n, a.namespace, 'neighbour', 'order-a-neighbour');
    // The control: the same image in a namespace of the test's own, with no NetworkPolicy.
    await core.createNamespace({ body: { metadata: { name: controlNamespace } } });
    const control = await plainPod(n, controlNamespace, 'control', 'control');

    await eventually(async () => {
      const guarded = await guardedPods();
      for (const p of [a, b, neighbour, control]) assert.ok(guarded.has(`${p.namespace}/${p.pod}`), `kube-router guards ${p.namespace}/${p.pod} (guards: ${[...guarded].join(', ')})`);
    }, { timeoutMs: 30_000, intervalMs: 500 });

    // Published host ports answer from the machine.
    await served(n, hostPortB, /^order-b$/m);
    await served(n, hostPortA, /^order-a$/m);
    const fromA = `http://${n.ip}:${hostPortA}`;
    const fromControl = `http://${control.ip}`;
    const b80 = `${b.ip}:80`;
    const b8080 = `${b.ip}:8080`;

    // Without a policy the connections get through: B's published port, and the node.
    assert.equal(await probe(fromControl, b80), 'reached order-b', 'a pod without a policy reaches order B on its container port');
    assert.equal(await probe(fromControl, nodeTarget), 'reached node-server', "a pod without a policy reaches the node's address");
    assert.ok(callers.includes(control.ip), `the node's server saw the control pod ${control.ip}: ${callers.join(', ')}`);

    // Deny-by-default between orders: A cannot open B's container port.
    const aToB = await probe(fromA, b80);
    assert.match(aToB, /^failed /, `order A must not reach order B's pod at ${b80}: ${aToB}`);
    // B's unpublished port is closed to other namespaces (B's ingress), though B serves it.
    assert.equal((await httpGet(`http://${b8080}/`)).body, 'order-b\n', 'order B serves 8080 (seen from the node)');
    const controlTo8080 = await probe(fromControl, b8080);
    assert.match(controlTo8080, /^failed /, `order B's unpublished port 8080 must refuse another namespace: ${controlTo8080}`);

    // Egress block of private ranges: A cannot reach the node's own address.
    const aToNode = await probe(fromA, nodeTarget);
    assert.match(aToNode, /^failed /, `order A must not reach the node's address ${nodeTarget}: ${aToNode}`);
    assert.ok(!callers.includes(a.ip), `the node's server never saw order A's pod ${a.ip}: ${callers.join(', ')}`);

    // The order still reaches itself: its second container, and a pod of its own namespace.
    assert.equal(await probe(fromA, '127.0.0.1:8081'), 'reached order-a-second', "order A reaches its own second container");
    assert.equal(await probe(fromA, `${neighbour.ip}:80`), 'reached order-a-neighbour', 'order A reaches a pod of its own namespace through the bridge');
    assert.equal(await probe(`http://${neighbour.ip}`, `${a.ip}:80`), 'reached order-a', 'and that pod reaches order A');
  });
});
