/**
 * Where a deploy goes: the order's region, else the request's, else the region with most
 * free memory — which is worked out (over every pod in the cluster) only when needed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { type DeployContext, parseClientDeploy, parseSeedDeploy } from '../../src/domain/deploy-spec.js';

const config = loadConfig({}, '/tmp');

function context(orderRegion: string): { ctx: DeployContext; asked: () => number } {
  let asked = 0;
  const ctx: DeployContext = {
    order: { units: 2, region: orderRegion, randomPorts: false, persistStorage: false },
    units: config.units,
    reservedPorts: config.reservedPorts,
    regions: ['ausrine', 'giltine'],
    defaultRegion: () => {
      asked++;
      return 'giltine';
    },
    isValidImage: () => true,
  };
  return { ctx, asked: () => asked };
}

const client = { containers: [{ name: 'web', imageName: 'nginx', resourceUnit: 1 }] };
const seed = { nodeSelector: { region: 'ausrine' }, containers: [{ name: 'web', imageName: 'nginx', resource: { memory: '100Mi' } }] };

describe('the region of a deploy', () => {
  it('is the roomiest region when neither the order nor the request names one', () => {
    const { ctx, asked } = context('');
    assert.equal(parseClientDeploy(client, ctx).region, 'giltine');
    assert.equal(asked(), 1);
  });

  it("is the order's or the request's without working out the roomiest", () => {
    const sold = context('ausrine');
    assert.equal(parseClientDeploy(client, sold.ctx).region, 'ausrine');
    assert.equal(sold.asked(), 0);
    const named = context('');
    assert.equal(parseSeedDeploy(seed, named.ctx).region, 'ausrine');
    assert.equal(named.asked(), 0);
  });
});
