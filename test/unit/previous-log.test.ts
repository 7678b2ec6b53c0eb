/**
 * `previous=true` on a container without a previous instance: Kubernetes answers 400
 * (the gateway's LogUnavailableError); the customer gets a 404 naming the container
 * and saying why, in the envelope. A stub cluster stands in for the watch cache.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ClusterReader, LogOptions, PodJson } from '../../src/cluster/gateway.js';
import { LogUnavailableError, NotFoundError } from '../../src/kernel/errors.js';
import { ORDER_LABEL, namespaceOf } from '../../src/domain/manifests.js';
import { WorkloadService } from '../../src/domain/workload.js';
import type { OrderStore } from '../../src/domain/store-port.js';
import type { OrderRecord } from '../../src/domain/records.js';

const ORDER = { id: 'o1', spec: {} } as unknown as OrderRecord;
const KUBE_SAYS = 'previous terminated container "app" in pod "workload-abc" not found';

function service(restartCount: number, calls: LogOptions[]): WorkloadService {
  const pod: PodJson = {
    metadata: { name: 'workload-abc', namespace: namespaceOf(ORDER.id), labels: { [ORDER_LABEL]: ORDER.id }, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { containers: [{ name: 'app' }, { name: 'side' }] },
    status: { containerStatuses: [{ name: 'app', ready: true, restartCount, state: { running: {} } }] },
  };
  const cluster = {
    health: () => ({ reachable: true, synced: true }),
    podsInNamespace: () => [pod],
    readLog: async (_ns: string, _pod: string, opts: LogOptions) => {
      calls.push(opts);
      if (opts.previous) throw new LogUnavailableError(KUBE_SAYS);
      return 'now\n';
    },
  } as unknown as ClusterReader;
  return new WorkloadService(cluster, {} as OrderStore, { waitFor: async () => ({ generation: 1, applied: true }) }, { now: () => 0 } as never);
}

describe('GET /k8s/pod/log?previous=true without a previous instance', () => {
  it('is a NotFoundError naming the container, saying it has not restarted, with Kubernetes’ words', async () => {
    const calls: LogOptions[] = [];
    await assert.rejects(service(0, calls).log(ORDER, { previous: true }), (err: Error) => {
      assert.ok(err instanceof NotFoundError);
      assert.ok(!(err instanceof LogUnavailableError), 'rewritten for the customer');
      assert.match(err.message, /^container "app" has no previous instance to read: it has not stopped or restarted since this pod started \(Kubernetes: previous terminated/);
      return true;
    });
    assert.deepEqual(calls, [{ previous: true, container: 'app' }], 'the first container by default; Kubernetes is asked, not guessed for');
  });

  it('says the log is gone when the container did restart', async () => {
    await assert.rejects(service(3, []).log(ORDER, { previous: true }), /its previous instance's log is no longer kept \(restarted 3 time\(s\)\)/);
  });

  it('leaves other log errors as they are, and reads the current log untouched', async () => {
    const calls: LogOptions[] = [];
    assert.equal(await service(0, calls).log(ORDER, { container: 'side' }), 'now\n');
    await assert.rejects(service(0, []).log(ORDER, { container: 'nope', previous: true }), /container: no container "nope"/);
  });
});
