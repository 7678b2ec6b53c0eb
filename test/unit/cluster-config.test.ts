import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadClusterConfig } from '../../dev/cluster/config.js';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function configFile(content: object): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vkube-cluster-config-'));
  dirs.push(dir);
  const file = join(dir, 'cluster.json');
  await writeFile(file, JSON.stringify(content));
  return file;
}

describe('the local cluster config', () => {
  const regions = [{ name: 'ausrine', nodes: 1 }];

  it("scrapes metrics every 10 s unless it says otherwise (the tests' setting), and keeps what it says", async () => {
    assert.equal(loadClusterConfig(await configFile({ regions })).metricResolutionSeconds, 10);
    assert.equal(loadClusterConfig(await configFile({ regions, metricResolutionSeconds: 60 })).metricResolutionSeconds, 60);
  });

  it('refuses a resolution metrics-server would not take, naming the field', async () => {
    for (const bad of [5, 0, 12.5, 'fast', 301]) {
      const file = await configFile({ regions, metricResolutionSeconds: bad });
      assert.throws(() => loadClusterConfig(file), /"metricResolutionSeconds" must be an integer from 10 to 300/, String(bad));
    }
  });
});
