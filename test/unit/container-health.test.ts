/**
 * containerHealth(): why a container stopped, restarts or is not ready, from the
 * container statuses Kubernetes writes (shapes as the kubelet reports them).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerStatusJson, PodJson } from '../../src/cluster/gateway.js';
import { containerHealth, describeTermination, needsExplaining } from '../../src/domain/container-health.js';

function pod(statuses: ContainerStatusJson[], containers: Array<Record<string, unknown> & { name: string }> = [{ name: 'app' }]): PodJson {
  return { metadata: { name: 'workload-abc', namespace: 'vkube-x' }, spec: { containers }, status: { phase: 'Running', containerStatuses: statuses } };
}

const RUNNING = { running: { startedAt: '2026-01-01T10:00:05Z' } };

describe('containerHealth', () => {
  it('a container in its first run, ready: nothing to explain', () => {
    const [c] = containerHealth(pod([{ name: 'app', ready: true, started: true, restartCount: 0, state: RUNNING, lastState: {} }]));
    assert.deepEqual(c, {
      name: 'app',
      ready: true,
      restartCount: 0,
      state: 'running',
      since: '2026-01-01T10:00:05Z',
      crashLoopBackOff: false,
      lastTermination: null,
      hasPreviousLog: false,
      summary: 'running and ready',
    });
    assert.equal(needsExplaining([c!]), false);
  });

  it('a container that exits 3 and backs off: Error, exit code 3, the times, CrashLoopBackOff with its message', () => {
    const [c] = containerHealth(
      pod([
        {
          name: 'app',
          ready: false,
          started: false,
          restartCount: 4,
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 1m20s restarting failed container=app pod=workload-abc_vkube-x(uid)' } },
          lastState: { terminated: { exitCode: 3, reason: 'Error', startedAt: '2026-01-01T10:00:00Z', finishedAt: '2026-01-01T10:00:01Z' } },
        },
      ]),
    );
    assert.equal(c!.state, 'waiting');
    assert.equal(c!.crashLoopBackOff, true);
    assert.equal(c!.reason, 'CrashLoopBackOff');
    assert.match(c!.message!, /^back-off 1m20s/);
    assert.deepEqual(c!.lastTermination, { reason: 'Error', exitCode: 3, startedAt: '2026-01-01T10:00:00Z', finishedAt: '2026-01-01T10:00:01Z' });
    assert.equal(c!.restartCount, 4);
    assert.equal(c!.hasPreviousLog, true);
    assert.equal(c!.summary, 'keeps stopping: Kubernetes waits 1m20s before starting it again (CrashLoopBackOff); its last run exited with code 3 (Error); restarted 4 times');
    assert.equal(needsExplaining([c!]), true);
  });

  it('a run the kubelet killed for a failed liveness probe says so, though Kubernetes calls it Completed (0)', () => {
    const killed = { name: 'app', ready: true, restartCount: 1, state: RUNNING, lastState: { terminated: { exitCode: 0, reason: 'Completed', startedAt: '2026-01-01T10:00:00Z', finishedAt: '2026-01-01T10:00:04Z' } } };
    const kill = (message: string, lastTimestamp: string) => ({ metadata: { name: 'e', namespace: 'vkube-x' }, reason: 'Killing', message, lastTimestamp, involvedObject: { kind: 'Pod', name: 'workload-abc' } });
    const [c] = containerHealth(pod([killed]), [kill('Container app failed liveness probe, will be restarted', '2026-01-01T10:00:03Z')]);
    assert.equal(c!.lastTermination!.killedBy, 'livenessProbe');
    assert.equal(c!.summary, 'running and ready; its last run was restarted because its liveness probe failed (Completed, exit code 0); restarted once');
    // Another container's kill, or one outside the run's lifetime, is not this run's.
    const [other] = containerHealth(pod([killed]), [kill('Container sidecar failed liveness probe, will be restarted', '2026-01-01T10:00:03Z')]);
    assert.equal(other!.lastTermination!.killedBy, undefined);
    const [earlier] = containerHealth(pod([killed]), [kill('Container app failed startup probe, will be restarted', '2026-01-01T09:50:00Z')]);
    assert.equal(earlier!.lastTermination!.killedBy, undefined);
    assert.match(earlier!.summary, /exited normally \(code 0\)/);
    const [startup] = containerHealth(pod([killed]), [kill('Container app failed startup probe, will be restarted', '2026-01-01T10:00:05Z')]);
    assert.equal(startup!.lastTermination!.killedBy, 'startupProbe');
  });

  it('OOMKilled says so in plain words; a signal is kept', () => {
    const [c] = containerHealth(
      pod([{ name: 'app', ready: true, restartCount: 1, state: RUNNING, lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', signal: 9, startedAt: 'a', finishedAt: 'b' } } }]),
    );
    assert.equal(c!.lastTermination!.reason, 'OOMKilled');
    assert.equal(c!.lastTermination!.signal, 9);
    assert.equal(c!.summary, 'running and ready; its last run was killed for using more memory than its limit (OOMKilled); restarted once');
    assert.equal(needsExplaining([c!]), true, 'it restarted');
  });

  it('a container that has ended now reports its exit code and when', () => {
    const [c] = containerHealth(pod([{ name: 'app', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: '2026-01-01T10:01:00Z' } } }]));
    assert.equal(c!.state, 'terminated');
    assert.equal(c!.exitCode, 0);
    assert.equal(c!.since, '2026-01-01T10:01:00Z');
    assert.equal(c!.reason, 'Completed');
    assert.equal(c!.lastTermination, null);
    assert.equal(c!.hasPreviousLog, false);
    assert.equal(c!.summary, 'has stopped: it exited normally (code 0)');
  });

  it('running but not ready: names the probe that holds it back', () => {
    const readiness = containerHealth(pod([{ name: 'app', ready: false, started: true, restartCount: 0, state: RUNNING }], [{ name: 'app', readinessProbe: { tcpSocket: { port: 80 } } }]));
    assert.equal(readiness[0]!.summary, 'running, not ready: its readiness probe does not succeed');
    assert.equal(needsExplaining(readiness), true);
    const startup = containerHealth(pod([{ name: 'app', ready: false, started: false, restartCount: 0, state: RUNNING }], [{ name: 'app', startupProbe: { tcpSocket: { port: 80 } } }]));
    assert.equal(startup[0]!.summary, 'running, not ready: its startup probe has not succeeded yet');
    const plain = containerHealth(pod([{ name: 'app', ready: false, restartCount: 0, state: RUNNING }]));
    assert.equal(plain[0]!.summary, 'running, not ready yet');
  });

  it('a liveness kill reads as SIGKILL; a missing reason is derived from the exit code', () => {
    const [c] = containerHealth(pod([{ name: 'app', ready: true, restartCount: 2, state: RUNNING, lastState: { terminated: { exitCode: 137 } } }]));
    assert.equal(c!.lastTermination!.reason, 'Error');
    assert.equal(c!.lastTermination!.startedAt, null);
    assert.match(c!.summary, /was killed \(exit code 137, SIGKILL; Error\); restarted 2 times$/);
    assert.equal(describeTermination({ reason: 'Error', exitCode: 143 }), 'was stopped (exit code 143, SIGTERM; Error)');
    assert.equal(describeTermination({ reason: 'ContainerCannotRun', exitCode: 128 }), 'could not be started (ContainerCannotRun)');
  });

  it('a pod the kubelet has not reported yet (not scheduled, waiting for its volume): nothing to explain about its containers', () => {
    const waiting: PodJson = { metadata: { name: 'w' }, spec: { containers: [{ name: 'a' }, { name: 'b' }] }, status: { phase: 'Pending' } };
    assert.equal(needsExplaining(containerHealth(waiting)), false);
    const oneStarted = pod([{ name: 'b', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }], [{ name: 'a' }, { name: 'b' }]);
    assert.equal(needsExplaining(containerHealth(oneStarted)), true, 'once one is reported, all are shown');
  });

  it('keeps the spec order, shows containers without a status yet, and statuses of unknown containers last', () => {
    const health = containerHealth(
      pod(
        [
          { name: 'ghost', ready: true, restartCount: 0, state: RUNNING },
          { name: 'b', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } },
        ],
        [{ name: 'a' }, { name: 'b' }],
      ),
    );
    assert.deepEqual(
      health.map((c) => [c.name, c.state, c.summary]),
      [
        ['a', 'unknown', 'not created yet'],
        ['b', 'waiting', 'waiting to start (ContainerCreating)'],
        ['ghost', 'running', 'running and ready'],
      ],
    );
  });
});
