/**
 * describeStorage(): what a customer reads about its volume, from what Kubernetes says
 * (the messages below are the ones kube-controller-manager and kube-scheduler write).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventJson, PersistentVolumeClaimJson, PodJson } from '../../src/cluster/gateway.js';
import { claimMountedBy, describeStorage } from '../../src/domain/storage-status.js';

const NS = 'vkube-0123456789abcdef01234567';

function claim(phase: string, extra: Partial<PersistentVolumeClaimJson> = {}): PersistentVolumeClaimJson {
  return { metadata: { name: 'data', namespace: NS, uid: 'claim-uid', resourceVersion: '7' }, spec: {}, status: { phase }, ...extra };
}

function event(reason: string, message: string, at: string, type = 'Normal'): EventJson {
  return { metadata: { name: `data.${reason}`, namespace: NS }, type, reason, message, lastTimestamp: at, involvedObject: { kind: 'PersistentVolumeClaim', name: 'data', uid: 'claim-uid' } };
}

function pod(scheduled?: { reason: string; message: string }): PodJson {
  return {
    metadata: { name: 'workload-abc', namespace: NS },
    spec: { containers: [{ name: 'db' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] },
    status: { phase: 'Pending', conditions: scheduled ? [{ type: 'PodScheduled', status: 'False', ...scheduled }] : [] },
  };
}

const UNBOUND = { reason: 'Unschedulable', message: '0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.' };

/** No Kubernetes jargon in what the customer reads. */
function assertPlain(message: string): void {
  assert.doesNotMatch(message, /PersistentVolumeClaim|PVC|storageclass\.storage\.k8s\.io|Unschedulable|preemption|WaitForFirstConsumer/, `plain words: ${message}`);
}

describe('the storage part of the pod status', () => {
  it('finds the claim the pod mounts, and none on a pod without one', () => {
    assert.equal(claimMountedBy(pod()), 'data');
    assert.equal(claimMountedBy({ metadata: { name: 'p' }, spec: { containers: [], volumes: [{ name: 'cfg', configMap: { name: 'x' } }] } }), undefined);
    assert.equal(claimMountedBy({ metadata: { name: 'p' }, spec: { containers: [] } }), undefined);
  });

  it('a class that does not exist: names it, keeps what Kubernetes said', () => {
    const view = describeStorage('data', claim('Pending', { spec: { storageClassName: 'fast-ssd' } }), [event('ProvisioningFailed', 'storageclass.storage.k8s.io "fast-ssd" not found', '2026-01-01T10:00:00Z', 'Warning')], pod(UNBOUND));
    assert.equal(view.claim, 'data');
    assert.equal(view.phase, 'Pending');
    assert.match(view.message, /no storage class named "fast-ssd"/);
    assert.equal(view.reason, 'ProvisioningFailed');
    assert.equal(view.detail, 'storageclass.storage.k8s.io "fast-ssd" not found');
    assertPlain(view.message);
  });

  it('no class asked for and no default class in the cluster', () => {
    const view = describeStorage('data', claim('Pending'), [event('FailedBinding', 'no persistent volumes available for this claim and no storage class is set', '2026-01-01T10:00:00Z')], pod(UNBOUND));
    assert.equal(view.phase, 'Pending');
    assert.match(view.message, /no default storage class/);
    assert.equal(view.reason, 'FailedBinding');
    assertPlain(view.message);
  });

  it('the newest event wins: a provisioner that answered after a failure', () => {
    const events = [
      event('ExternalProvisioning', 'Waiting for a volume to be created either by the external provisioner \'rancher.io/local-path\' or manually by the system administrator.', '2026-01-01T10:00:05Z'),
      event('ProvisioningFailed', 'failed to provision volume with StorageClass "local-path": timed out', '2026-01-01T10:00:01Z', 'Warning'),
    ];
    const waiting = describeStorage('data', claim('Pending'), events, pod());
    assert.match(waiting.message, /storage provisioner \(rancher\.io\/local-path\)/);
    assert.equal(waiting.reason, 'ExternalProvisioning');
    const failed = describeStorage('data', claim('Pending'), [events[1]!, { ...events[0]!, lastTimestamp: '2026-01-01T09:59:00Z' }], pod());
    assert.match(failed.message, /^Creating your storage volume failed/);
    assert.equal(failed.detail, 'failed to provision volume with StorageClass "local-path": timed out');
    assertPlain(failed.message);
  });

  it('the newer provisioner message format (quoted with ")', () => {
    const view = describeStorage('data', claim('Pending'), [event('ExternalProvisioning', 'Waiting for a volume to be created either by the external provisioner "ebs.csi.aws.com" or manually by the system administrator.', '2026-01-01T10:00:00Z')], pod());
    assert.match(view.message, /\(ebs\.csi\.aws\.com\)/);
  });

  it('WaitForFirstConsumer: waits for the pod to be placed; blames storage only when the scheduler does', () => {
    const wffc = [event('WaitForFirstConsumer', 'waiting for first consumer to be created before binding', '2026-01-01T10:00:00Z')];
    assert.match(describeStorage('data', claim('Pending'), wffc, pod()).message, /created on the node your container is placed on/);
    const noNode = describeStorage('data', claim('Pending'), wffc, pod({ reason: 'Unschedulable', message: "0/3 nodes are available: 1 node(s) didn't find available persistent volumes to bind, 2 node(s) didn't match Pod's node affinity/selector." }));
    assert.match(noNode.message, /no node in your region can provide it/);
    assert.equal(noNode.reason, 'Unschedulable', "the scheduler's verdict is the detail then");
    assertPlain(noNode.message);
    const noRoom = describeStorage('data', claim('Pending'), wffc, pod({ reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' }));
    assert.match(noRoom.message, /your container cannot be placed yet/);
    assert.doesNotMatch(noRoom.message, /no node in your region can provide it/, 'not the volume’s fault');
  });

  it('no event yet: what the scheduler says, or that it is waiting', () => {
    const unbound = describeStorage('data', claim('Pending'), [], pod(UNBOUND));
    assert.match(unbound.message, /not ready, and your container cannot start without it/);
    assert.equal(unbound.detail, UNBOUND.message);
    assertPlain(unbound.message);
    const quiet = describeStorage('data', claim('Pending'), [], pod());
    assert.match(quiet.message, /waiting to be created/);
    assert.equal(quiet.reason, undefined);
  });

  it('not in the cluster yet', () => {
    const view = describeStorage('data', undefined, [], pod());
    assert.equal(view.phase, 'Pending');
    assert.match(view.message, /not been requested from the cluster yet/);
  });

  it('bound: ready, with its size; lost: says so', () => {
    const bound = describeStorage('data', claim('Bound', { status: { phase: 'Bound', capacity: { storage: '10Gi' } } }), [event('ProvisioningFailed', 'storageclass.storage.k8s.io "x" not found', '2026-01-01T10:00:00Z', 'Warning')], pod());
    assert.deepEqual(bound, { claim: 'data', phase: 'Bound', message: 'Your storage volume (10Gi) is ready.' }, 'old events do not matter once bound');
    const lost = describeStorage('data', claim('Lost', { spec: { volumeName: 'pvc-123' } }), [], pod());
    assert.equal(lost.phase, 'Lost');
    assert.match(lost.message, /lost/);
    assert.match(lost.detail ?? '', /pvc-123/);
  });
});
