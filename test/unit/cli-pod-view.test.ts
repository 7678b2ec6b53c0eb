/**
 * How `vkube` reads a live pod and decides while waiting: Running and Ready is
 * success; a crash loop, an image that cannot be pulled, a Failed pod or an
 * unschedulable one fail at once with the reason; anything else waits for the timeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type PodStatusResponse, failureOf, podMatches, podView, waitForRunning } from '../../src/cli/pod-view.js';

function pod(name: string, status: Record<string, unknown>, containers: Array<Record<string, unknown>> = [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80, hostPort: 6001, protocol: 'TCP' }] }]): PodStatusResponse {
  return { name, podStatus: status, podSpec: { nodeName: 'ausrine-0', containers }, annotations: {} };
}

const running = (name = 'p1') =>
  pod(name, {
    phase: 'Running',
    hostIP: '10.200.0.1',
    podIP: '10.244.0.9',
    conditions: [
      { type: 'PodScheduled', status: 'True' },
      { type: 'Ready', status: 'True' },
    ],
    containerStatuses: [{ name: 'web', ready: true, restartCount: 0, state: { running: { startedAt: '2025-01-01T00:00:00Z' } } }],
  });

const pending = (name = 'p1', waitingReason?: string) =>
  pod(name, {
    phase: 'Pending',
    conditions: [{ type: 'PodScheduled', status: 'True' }],
    ...(waitingReason ? { containerStatuses: [{ name: 'web', ready: false, restartCount: 0, state: { waiting: { reason: waitingReason } } }] } : {}),
  });

describe('podView', () => {
  it('reads phase, readiness, node, IPs, ports and containers from the Kubernetes JSON', () => {
    const v = podView({ ...running(), domains: [{ domain: 'app.example.com', containerPort: 80, isHttps: true }] });
    assert.equal(v.phase, 'Running');
    assert.equal(v.ready, true);
    assert.equal(v.node, 'ausrine-0');
    assert.equal(v.hostIP, '10.200.0.1');
    assert.deepEqual(v.ports, [{ container: 'web', containerPort: 80, hostPort: 6001, protocol: 'TCP' }]);
    assert.deepEqual(v.containers, [{ name: 'web', image: 'nginx:1.27', ready: true, restarts: 0, state: 'running', since: '2025-01-01T00:00:00Z' }]);
    assert.deepEqual(v.domains, [{ domain: 'app.example.com', containerPort: 80, isHttps: true }]);
  });

  it("takes the server's explanation of a container that stopped, and when its last run ended", () => {
    const raw = pod('p1', {
      phase: 'Running',
      containerStatuses: [
        { name: 'web', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s' } }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137, finishedAt: '2025-01-01T00:01:00Z' } } },
      ],
    });
    const summary = 'keeps stopping: Kubernetes waits 20s before starting it again (CrashLoopBackOff); its last run was killed for using more memory than its limit (OOMKilled); restarted 2 times';
    const v = podView({
      ...raw,
      containers: [
        { name: 'web', ready: false, restartCount: 2, state: 'waiting', reason: 'CrashLoopBackOff', crashLoopBackOff: true, lastTermination: { reason: 'OOMKilled', exitCode: 137, startedAt: null, finishedAt: '2025-01-01T00:01:00Z' }, hasPreviousLog: true, summary },
      ],
    });
    assert.equal(v.containers[0]!.lastTermination, 'OOMKilled (exit 137)');
    assert.equal(v.containers[0]!.lastTerminationAt, '2025-01-01T00:01:00Z');
    assert.equal(v.containers[0]!.why, summary);
    assert.equal(v.containers[0]!.hasPreviousLog, true);
    assert.equal(podView(raw).containers[0]!.why, undefined, 'an older server without containers: the raw status still reads');
  });

  it('survives a status with nothing in it', () => {
    const v = podView(pod('p0', {}, []));
    assert.equal(v.phase, 'Unknown');
    assert.equal(v.ready, false);
    assert.deepEqual(v.containers, []);
  });
});

describe('failureOf', () => {
  it('reports a crash loop with the last exit and the restarts', () => {
    const v = podView(
      pod('p1', {
        phase: 'Running',
        containerStatuses: [
          { name: 'web', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } }, lastState: { terminated: { reason: 'Error', exitCode: 1 } } },
        ],
      }),
    );
    assert.equal(failureOf(v), 'container web: CrashLoopBackOff (back-off 40s; last run: Error (exit 1); 4 restarts)');
  });

  it('reports an image that cannot be pulled, a Failed pod, and the scheduler', () => {
    assert.match(failureOf(podView(pending('p1', 'ImagePullBackOff')))!, /container web: ImagePullBackOff/);
    assert.equal(failureOf(podView(pod('p1', { phase: 'Failed', reason: 'Evicted', message: 'low on memory' }))), 'the pod failed: Evicted (low on memory)');
    const unschedulable = pod('p1', { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient memory.' }] });
    assert.equal(failureOf(podView(unschedulable)), 'the pod cannot be scheduled: 0/1 nodes are available: 1 Insufficient memory.');
  });

  it('lets passing states be', () => {
    assert.equal(failureOf(podView(pending('p1', 'ContainerCreating'))), undefined);
    assert.equal(failureOf(podView(pending('p1', 'ErrImagePull'))), undefined, 'one failed pull is retried');
    assert.equal(failureOf(podView(running())), undefined);
  });
});

describe('podMatches', () => {
  it('is true when the pod runs the same containers, images, commands, env and ports', () => {
    const p = pod('p1', {}, [{ name: 'web', image: 'nginx:1.27', command: ['/bin/sh', '-c'], env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80, hostPort: 6001 }] }]);
    assert.equal(podMatches(p, [{ name: 'web', imageName: 'nginx:1.27', command: '/bin/sh\n-c', envs: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80, hostPort: 6001 }] }]), true);
    assert.equal(podMatches(p, [{ name: 'web', imageName: 'nginx:1.28', command: '/bin/sh\n-c', envs: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80, hostPort: 6001 }] }]), false);
    assert.equal(podMatches(p, [{ name: 'web', imageName: 'nginx:1.27', command: '/bin/sh\n-c', envs: [{ name: 'A', value: '2' }], ports: [{ containerPort: 80, hostPort: 6001 }] }]), false);
    assert.equal(podMatches(p, [{ name: 'web', imageName: 'nginx:1.27', command: '/bin/sh\n-c', envs: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80, hostPort: 6002 }] }]), false);
    assert.equal(podMatches(p, [{ name: 'web', imageName: 'nginx:1.27', command: '/bin/sh\n-c', envs: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80 }] }]), true, 'host ports V-Kube picked');
  });
});

/** A fake clock and a scripted sequence of pod answers. */
function script(answers: Array<PodStatusResponse | undefined>, stepMs = 1000) {
  let now = 0;
  let i = 0;
  const lines: string[] = [];
  return {
    lines,
    deps: {
      fetchPod: async () => answers[Math.min(i++, answers.length - 1)],
      sleep: async (ms: number) => {
        now += Math.min(ms, stepMs);
      },
      now: () => now,
      report: (line: string) => lines.push(line),
    },
  };
}

describe('waitForRunning', () => {
  it('waits through Pending to Running and Ready, printing each change once', async () => {
    const s = script([undefined, pending('p1', 'ContainerCreating'), pending('p1', 'ContainerCreating'), running('p1')]);
    const result = await waitForRunning(s.deps, { timeoutMs: 60_000 });
    assert.equal(result.ok, true);
    assert.deepEqual(s.lines, ['waiting for the pod to be created', 'pod p1: Pending (web: ContainerCreating)', 'pod p1: Running, ready']);
  });

  it('fails fast on a crash loop, not at the timeout', async () => {
    const crash = pod('p1', { phase: 'Running', containerStatuses: [{ name: 'web', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } }] });
    const s = script([pending('p1'), crash]);
    const result = await waitForRunning(s.deps, { timeoutMs: 60_000 });
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.timedOut, false);
    assert.match(result.reason, /CrashLoopBackOff/);
  });

  it('times out with where the pod stands', async () => {
    const s = script([pending('p1', 'ContainerCreating')]);
    const result = await waitForRunning(s.deps, { timeoutMs: 5000 });
    assert.ok(!result.ok);
    assert.equal(result.timedOut, true);
    assert.equal(result.reason, 'the pod is not Running and Ready after 5 s (now: Pending (web: ContainerCreating))');
  });

  it('ignores the pod being replaced until the new one shows', async () => {
    const s = script([running('old'), running('old'), pending('new'), running('new')]);
    const result = await waitForRunning(s.deps, { timeoutMs: 60_000, replacing: 'old' });
    assert.ok(result.ok);
    assert.equal(result.pod.name, 'new');
    assert.equal(s.lines[0], 'waiting for pod old to be replaced');
  });

  it('takes the old pod after the settle time when no new one comes (nothing in its template changed)', async () => {
    const s = script([running('old')]);
    const result = await waitForRunning(s.deps, { timeoutMs: 60_000, replacing: 'old', settleMs: 3000 });
    assert.ok(result.ok);
    assert.equal(result.pod.name, 'old');
  });
});
