/**
 * The patch that hands the fields a create left to V-Kube's apply entry: which entry it
 * touches, the guards that make it change nothing once the entries moved, and the union
 * when an apply entry exists already. Its effect on a real API server is checked in
 * test/cluster/created-deployments.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ManagedFieldsEntry, ownershipUpgradePatch, ownsByUpdate, unionOf } from '../../src/cluster/field-ownership.js';

const created: ManagedFieldsEntry = { manager: 'vkube', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"web"}': { '.': {}, 'f:image': {} } } } } } } };
const statusWrite: ManagedFieldsEntry = { manager: 'kube-controller-manager', operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': { 'f:replicas': {} } } };

describe('ownsByUpdate', () => {
  it('is true for an Update entry of the manager on the object itself', () => {
    assert.equal(ownsByUpdate([statusWrite, created], 'vkube'), true);
  });
  it('is false for other managers, Apply entries and status writes', () => {
    assert.equal(ownsByUpdate([statusWrite, { ...created, operation: 'Apply' }], 'vkube'), false);
    assert.equal(ownsByUpdate([created], 'someone-else'), false);
    assert.equal(ownsByUpdate([{ ...created, subresource: 'status' }], 'vkube'), false);
    assert.equal(ownsByUpdate(undefined, 'vkube'), false);
  });
});

describe('ownershipUpgradePatch', () => {
  it('turns the Update entry into the Apply entry, guarded by its manager and operation', () => {
    assert.deepEqual(ownershipUpgradePatch([statusWrite, created], 'vkube'), [
      { op: 'test', path: '/metadata/managedFields/1/manager', value: 'vkube' },
      { op: 'test', path: '/metadata/managedFields/1/operation', value: 'Update' },
      { op: 'replace', path: '/metadata/managedFields/1/operation', value: 'Apply' },
    ]);
  });

  it('merges into an Apply entry that exists already, and removes the Update entry after the replace', () => {
    const applied: ManagedFieldsEntry = { manager: 'vkube', operation: 'Apply', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:a': {} } }, 'f:spec': { 'f:replicas': {} } } };
    const patch = ownershipUpgradePatch([applied, statusWrite, created], 'vkube');
    assert.deepEqual(patch?.slice(0, 4), [
      { op: 'test', path: '/metadata/managedFields/2/manager', value: 'vkube' },
      { op: 'test', path: '/metadata/managedFields/2/operation', value: 'Update' },
      { op: 'test', path: '/metadata/managedFields/0/manager', value: 'vkube' },
      { op: 'test', path: '/metadata/managedFields/0/operation', value: 'Apply' },
    ]);
    assert.deepEqual(patch?.[4], { op: 'replace', path: '/metadata/managedFields/0/fieldsV1', value: unionOf(applied.fieldsV1!, created.fieldsV1!) });
    assert.deepEqual(patch?.[5], { op: 'remove', path: '/metadata/managedFields/2' });
  });

  it('is undefined when nothing is owned by an Update of the manager', () => {
    assert.equal(ownershipUpgradePatch([statusWrite, { ...created, operation: 'Apply' }], 'vkube'), undefined);
    assert.equal(ownershipUpgradePatch([], 'vkube'), undefined);
    assert.equal(ownershipUpgradePatch(undefined, 'vkube'), undefined);
  });
});

describe('unionOf', () => {
  it('keeps every field of both sets, nested', () => {
    assert.deepEqual(unionOf({ 'f:a': { 'f:b': {} }, 'f:c': {} }, { 'f:a': { '.': {}, 'f:d': {} }, 'f:e': {} }), {
      'f:a': { 'f:b': {}, '.': {}, 'f:d': {} },
      'f:c': {},
      'f:e': {},
    });
  });
  it('leaves its inputs as they were', () => {
    const a = { 'f:a': { 'f:b': {} } };
    unionOf(a, { 'f:a': { 'f:c': {} } });
    assert.deepEqual(a, { 'f:a': { 'f:b': {} } });
  });
});
