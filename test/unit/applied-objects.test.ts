/**
 * AppliedObjects: an object counts as current only while both its manifest and the
 * version the watch shows are what this replica applied and the API server answered.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeManifest } from '../../src/cluster/gateway.js';
import { AppliedObjects } from '../../src/domain/applied-objects.js';

const quota = (pods: string): KubeManifest => ({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'order-quota', namespace: 'vkube-a' }, spec: { hard: { pods } } }) as KubeManifest;

describe('AppliedObjects', () => {
  it('is current while the manifest and the watched version are those of the last apply', () => {
    const applied = new AppliedObjects();
    assert.equal(applied.current(quota('2'), 'v1'), false, 'never applied');
    applied.record(quota('2'), 'v1');
    assert.equal(applied.current(quota('2'), 'v1'), true);
    assert.equal(applied.current(quota('2'), 'v2'), false, 'someone changed it since');
    assert.equal(applied.current(quota('2'), undefined), false, 'the watch does not show it');
    assert.equal(applied.current(quota('3'), 'v1'), false, 'a different manifest');
  });

  it('forgets an object whose apply failed or answered no version, and a namespace made again', () => {
    const applied = new AppliedObjects();
    applied.record(quota('2'), 'v1');
    applied.drop(quota('2'));
    assert.equal(applied.current(quota('2'), 'v1'), false, 'dropped');
    applied.record(quota('2'), 'v1');
    applied.record(quota('2'), undefined);
    assert.equal(applied.current(quota('2'), 'v1'), false, 'no version answered: unknown');
    applied.record(quota('2'), 'v1');
    applied.forget('vkube-a');
    assert.equal(applied.current(quota('2'), 'v1'), false, 'the namespace was made again');
  });
});
