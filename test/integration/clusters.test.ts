/**
 * The clusters behind V-Kube as the provider sees them, on the shared local cluster: one
 * KUBECONFIG is one cluster in GET /admin/clusters (and /readyz stays as it was), and a
 * region found in two clusters stops the start with a message naming both (the two-cluster
 * behaviour itself is test/faults/two-clusters.test.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../dev/cluster/config.js';
import { vkubeKubeconfig } from '../../dev/cluster/testing.js';
import { type TestApp, startTestApp } from '../helpers/app.js';

describe('clusters (admin API)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  it('one KUBECONFIG: one cluster, ready, holding its Lease, with its regions, nodes and room', async () => {
    const res = await t.admin('GET', '/api/v1/admin/clusters');
    assert.equal(res.statusCode, 200, res.body);
    const view = res.json<{ clusters: Array<{ name: string; ready: boolean; leader: boolean; regions: Array<{ region: string; nodes: number; readyNodes: number; cpuMillis: number; memoryBytes: number; freeMemoryBytes: number; pods: number }> }>; conflicts: string[] }>();
    assert.equal(view.clusters.length, 1);
    const [one] = view.clusters;
    assert.equal(one!.name, t.services.cluster.name);
    assert.equal(one!.ready, true);
    assert.equal(one!.leader, true);
    const giltine = one!.regions.find((r) => r.region === 'giltine');
    assert.deepEqual(giltine && [giltine.nodes, giltine.readyNodes, giltine.cpuMillis, giltine.memoryBytes, giltine.pods], [2, 2, 16_000, 64 * 2 ** 30, 220]);
    assert.ok(giltine!.freeMemoryBytes > 0 && giltine!.freeMemoryBytes <= giltine!.memoryBytes);
    assert.deepEqual(view.conflicts, []);

    const unauthenticated = await t.app.inject({ method: 'GET', url: '/api/v1/admin/clusters' });
    assert.equal(unauthenticated.statusCode, 401);
  });

  it('one KUBECONFIG: /readyz has no per-cluster checks, as before', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json<{ checks: Record<string, unknown> }>().checks.clusters, undefined);
  });
});

describe('a region in two clusters', () => {
  it('stops the start with a message naming the region and both clusters', { timeout: 180_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vkube-conflict-'));
    const kubeconfig = await vkubeKubeconfig();
    // The same cluster twice under two names: every region is in both.
    const out = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/main.ts'],
        {
          cwd: repoRoot,
          timeout: 150_000,
          env: {
            ...process.env,
            PORT: '0',
            HOST: '127.0.0.1',
            DATABASE_URL: `sqlite:${join(dir, 'vkube.db')}`,
            VKUBE_KUBECONFIGS: `east=${kubeconfig},west=${kubeconfig}`,
            VKUBE_LEADER_ELECTION: 'false',
            LOG_LEVEL: 'silent',
          },
        },
        (err, _stdout, stderr) => resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr }),
      );
    });
    await rm(dir, { recursive: true, force: true });
    assert.equal(out.code, 2, out.stderr);
    assert.match(out.stderr, /V-Kube cannot start: region ausrine is in clusters east and west; .*region giltine is in clusters east and west/);
  });
});
