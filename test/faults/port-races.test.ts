/**
 * Port races: many orders deploying at once for the same host ports. The lease table's
 * primary key must let exactly one order have each port, every loser hears which port,
 * and the cluster ends with exactly one pod per port.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';
import { checkInvariants } from '../helpers/invariants.js';

let t: TestApp;
let kube: KubeHttp;

before(async () => {
  t = await startTestApp();
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
});
after(async () => {
  await t.close();
  kube.close();
});

interface PodJson {
  metadata: { namespace: string; deletionTimestamp?: string };
  spec: { containers: Array<{ ports?: Array<{ hostPort?: number }> }> };
}

async function podsUsing(port: number): Promise<string[]> {
  const pods = (await kube.get<{ items: PodJson[] }>('/api/v1/pods', { query: { labelSelector: 'app.kubernetes.io/managed-by=vkube' } })).items;
  return pods.filter((p) => !p.metadata.deletionTimestamp && p.spec.containers.some((c) => c.ports?.some((x) => x.hostPort === port))).map((p) => p.metadata.namespace);
}

function body(ports: number[]): unknown {
  return {
    nodeSelector: { region: 'ausrine' },
    containers: [{ name: 'app', imageName: 'nginx:1.27', ports: ports.map((p, i) => ({ containerPort: 8000 + i, hostPort: p })), resource: { memory: '32Mi' } }],
  };
}

describe('port races', () => {
  it('50 concurrent deploys of one host port: one wins, 49 get 409 naming it, one pod holds it', async () => {
    const orders = await Promise.all(Array.from({ length: 50 }, () => t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: 'ausrine' } })));
    const results = await Promise.all(orders.map((o) => t.tenant(o.secret).post('/api/v1/k8s/deploy', body([7500]))));
    const codes = results.map((r) => r.statusCode);
    assert.equal(codes.filter((c) => c === 200).length, 1, `one winner: ${codes.join(',')}`);
    assert.equal(codes.filter((c) => c === 409).length, 49);
    for (const r of results.filter((x) => x.statusCode === 409)) {
      assert.deepEqual(r.json(), { error: { code: 409, message: 'host port 7500 is already taken in region ausrine' } });
    }
    await eventually(async () => assert.equal((await podsUsing(7500)).length, 1));
    assert.deepEqual(await checkInvariants(dbFile(), kube, orders.map((o) => o.id)), []);
  });

  it('50 concurrent deploys of overlapping port sets: no port ever goes to two orders', async () => {
    const pool = [7600, 7601, 7602, 7603, 7604];
    const orders = await Promise.all(Array.from({ length: 50 }, () => t.createOrder({ serviceOptions: { resourceUnit: '3-Unit-Resource', region: 'ausrine' } })));
    const asks = orders.map(() => [...pool].sort(() => Math.random() - 0.5).slice(0, 1 + Math.floor(Math.random() * 3)));
    const results = await Promise.all(orders.map((o, i) => t.tenant(o.secret).post('/api/v1/k8s/deploy', body(asks[i]!))));
    const winners = results.map((r, i) => (r.statusCode === 200 ? asks[i]! : undefined)).filter((a): a is number[] => a !== undefined);
    for (const [i, r] of results.entries()) {
      assert.ok(r.statusCode === 200 || r.statusCode === 409, `${r.statusCode} ${r.body}`);
      if (r.statusCode === 409) {
        const named = (r.json<{ error: { message: string } }>().error.message.match(/\d{4}/g) ?? []).map(Number);
        assert.ok(named.length > 0 && named.every((p) => asks[i]!.includes(p)), `names ports it asked for: ${r.body}`);
      }
    }
    const granted = winners.flat();
    assert.equal(new Set(granted).size, granted.length, `no port granted twice: ${JSON.stringify(winners)}`);
    assert.ok(winners.length >= 2, 'several disjoint sets won');
    for (const port of pool) await eventually(async () => assert.ok((await podsUsing(port)).length <= 1, `port ${port} held by one pod at most`));
    for (const port of granted) await eventually(async () => assert.equal((await podsUsing(port)).length, 1, `port ${port} is running`));
    assert.deepEqual(await checkInvariants(dbFile(), kube, orders.map((o) => o.id)), []);
  });
});

function dbFile(): string {
  return t.config.databaseUrl.slice('sqlite:'.length);
}
