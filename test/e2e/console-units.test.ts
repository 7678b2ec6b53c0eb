/**
 * The console's pure modules, without a browser: the Server-Sent-Events parser the
 * log view uses, and how API answers become what the console shows.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowedActions, eventSentence, formatDuration, headerStatus, lines, readPod, readService, splitImage, terminationText, unitsOf } from '../../console/src/model.js';
import { eventParser, readEventStream, type StreamEvent } from '../../console/src/sse.js';

describe('console: event-stream parser', () => {
  it('joins data lines, names events, skips comments, survives any chunking', () => {
    const text = ': keep-alive\n\ndata: first line\n\ndata: a\ndata: b\n\nevent: end\ndata: the container stopped\n\n';
    for (const size of [1, 2, 3, 7, text.length]) {
      const seen: StreamEvent[] = [];
      const parser = eventParser((e) => seen.push(e));
      for (let i = 0; i < text.length; i += size) parser.push(text.slice(i, i + size));
      parser.end();
      assert.deepEqual(seen, [
        { event: 'message', data: 'first line' },
        { event: 'message', data: 'a\nb' },
        { event: 'end', data: 'the container stopped' },
      ]);
    }
  });

  it('handles CRLF, a missing blank line at the end, and an empty data field', () => {
    const seen: StreamEvent[] = [];
    const parser = eventParser((e) => seen.push(e));
    parser.push('data:no space\r\n\r\ndata:\r\n\r\ndata: last');
    parser.end();
    assert.deepEqual(seen, [
      { event: 'message', data: 'no space' },
      { event: 'message', data: '' },
      { event: 'message', data: 'last' },
    ]);
  });

  it('reads a byte stream, multi-byte characters split across chunks included', async () => {
    const bytes = new TextEncoder().encode('data: grüße ✓\n\n');
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 3) c.enqueue(bytes.slice(i, i + 3));
        c.close();
      },
    });
    const seen: StreamEvent[] = [];
    await readEventStream(stream, (e) => seen.push(e));
    assert.deepEqual(seen, [{ event: 'message', data: 'grüße ✓' }]);
  });
});

describe('console: model', () => {
  it('reads the service: units, region, port specification', () => {
    const s = readService({ id: 'o1', status: 'ServiceRunning', serviceOptions: { resourceUnit: '3-Unit-Resource', portSpecification: 'System Random Map Port' }, duration: 48, endAt: 1700000000, region: 'giltine' });
    assert.deepEqual(s, { id: 'o1', status: 'ServiceRunning', serviceOptions: { resourceUnit: '3-Unit-Resource', portSpecification: 'System Random Map Port' }, units: 3, duration: 48, endAt: 1700000000, region: 'giltine', randomPorts: true });
    assert.equal(unitsOf(undefined), 1);
    assert.equal(unitsOf('garbage'), 1);
  });

  it('enables the controls the status allows', () => {
    assert.deepEqual(allowedActions('ServicePending'), { stop: false, start: false, restart: false, deploy: true });
    assert.deepEqual(allowedActions('ServiceRunning'), { stop: true, start: false, restart: true, deploy: true });
    assert.deepEqual(allowedActions('ServiceStop'), { stop: false, start: true, restart: false, deploy: true });
    assert.deepEqual(allowedActions('ServiceDone'), { stop: false, start: false, restart: false, deploy: false });
    assert.deepEqual(allowedActions('ServiceAbort'), { stop: false, start: false, restart: false, deploy: false });
  });

  it('reads a pod: containers, waiting reasons, restarts, host ports, domains', () => {
    const pod = readPod({
      name: 'workload-1',
      podStatus: {
        phase: 'Running',
        hostIP: '10.0.0.2',
        containerStatuses: [
          { name: 'web', ready: true, restartCount: 0, image: 'nginx', state: { running: { startedAt: '2026-01-01T00:00:00Z' } } },
          { name: 'job', ready: false, restartCount: 4, image: 'busybox', state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } } },
        ],
      },
      podSpec: { nodeName: 'ausrine-1', containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80, hostPort: 6201, protocol: 'TCP' }] }, { name: 'job', image: 'busybox' }] },
      annotations: {},
      domains: [{ domain: 'a.example', containerPort: 80, isHttps: true }],
    });
    assert.equal(pod.phase, 'Running');
    assert.equal(pod.nodeName, 'ausrine-1');
    assert.deepEqual(pod.ports, [{ container: 'web', containerPort: 80, hostPort: 6201, protocol: 'TCP' }]);
    assert.deepEqual(pod.containers[1], {
      name: 'job',
      image: 'busybox',
      ready: false,
      restartCount: 4,
      state: 'waiting',
      reason: 'CrashLoopBackOff',
      message: 'back-off 40s',
      since: '',
      lastTermination: null,
      crashLoop: true,
      hasPreviousLog: true,
      summary: '',
    });
    assert.deepEqual(pod.domains, [{ domain: 'a.example', containerPort: 80, isHttps: true }]);
    assert.equal(pod.storage, null, 'no volume, no storage');
  });

  it("reads why a container stopped: its last termination, the crash loop, and the server's sentence", () => {
    const summary = 'keeps stopping: …; its last run was killed for using more memory than its limit (OOMKilled); restarted 2 times';
    const pod = readPod({
      name: 'w',
      podStatus: {
        phase: 'Running',
        containerStatuses: [
          { name: 'app', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s' } }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-01-01T00:01:00Z' } } },
        ],
      },
      podSpec: { containers: [{ name: 'app', image: 'busybox' }] },
      annotations: {},
      containers: [{ name: 'app', summary, hasPreviousLog: true }],
    });
    const c = pod.containers[0]!;
    assert.deepEqual(c.lastTermination, { reason: 'OOMKilled', exitCode: 137, finishedAt: '2026-01-01T00:01:00Z' });
    assert.equal(terminationText(c.lastTermination!), 'OOMKilled: over its memory limit (exit code 137)');
    assert.equal(c.crashLoop, true);
    assert.equal(c.summary, summary);
    assert.equal(c.hasPreviousLog, true);
  });

  it("reads the pod's storage: phase and the server's plain words", () => {
    const message = 'Your storage volume cannot be created: the cluster has no storage class named "fast-ssd".';
    const pod = readPod({ name: 'w', podStatus: { phase: 'Pending' }, podSpec: { containers: [] }, annotations: {}, storage: { claim: 'data', phase: 'Pending', message, reason: 'ProvisioningFailed' } });
    assert.deepEqual(pod.storage, { phase: 'Pending', message });
  });

  it('formats countdowns, splits image references, reads argument lines', () => {
    assert.equal(formatDuration(86399), '23 h 59 min 59 s');
    assert.equal(formatDuration(90061), '1 d 1 h 1 min');
    assert.equal(formatDuration(-5), '0 s');
    assert.deepEqual(splitImage('nginx'), { image: 'nginx', tag: 'latest', digest: false });
    assert.deepEqual(splitImage('localhost:5000/app'), { image: 'localhost:5000/app', tag: 'latest', digest: false });
    assert.deepEqual(splitImage('ghcr.io/o/app:1.2'), { image: 'ghcr.io/o/app', tag: '1.2', digest: false });
    assert.equal(splitImage('nginx@sha256:abc').digest, true);
    assert.deepEqual(lines('/bin/sh\r\n-c\n\n  \necho hi\n'), ['/bin/sh', '-c', 'echo hi']);
  });
});

describe('console: plain words', () => {
  it('tells the pod’s events in sentences, without namespaces or pod hashes', () => {
    const say = (reason: string, message: string) => eventSentence({ reason, message, object: 'Pod/workload-7d4b9c-x2x9q' });
    assert.equal(say('Scheduled', 'Successfully assigned vkube-abc123/workload-7d4b9c8f6d-x2x9q to laima-0'), 'Placed on node laima-0.');
    assert.equal(say('Pulling', 'Pulling image "nginx:1.27"'), 'Downloading the image nginx:1.27.');
    assert.equal(say('Pulled', 'Container image "nginx:1.27" already present on machine'), 'The image nginx:1.27 was already on the node.');
    assert.equal(say('Started', 'Started container web'), 'Container web started.');
    assert.equal(say('BackOff', 'Back-off restarting failed container web in pod workload-7d4b9c8f6d-x2x9q_vkube-abc123(…)'), 'Container web keeps stopping; Kubernetes waits a little longer before each new start.');
    assert.equal(say('ScalingReplicaSet', 'Scaled up replica set workload-7d4b9c8f6d to 1'), 'A new version of your pod is being started.');
    assert.equal(say('ScalingReplicaSet', 'Scaled down replica set workload-55f9d to 0 from 1'), 'The previous version of your pod is being removed.');
    assert.equal(say('FailedScheduling', '0/3 nodes are available: 3 Insufficient memory'), 'No node can take the pod yet: 0/3 nodes are available: 3 Insufficient memory.');
    assert.equal(say('SomethingNew', 'as it is'), 'Something New: as it is.');
  });

  it('says Running in the header only once the pod runs and is ready', () => {
    const pod = (phase: string, ready: boolean, reason = '') =>
      readPod({ podStatus: { phase, containerStatuses: [{ name: 'web', ready, state: reason ? { waiting: { reason } } : { running: {} } }] }, podSpec: { containers: [{ name: 'web' }] } });
    assert.deepEqual(headerStatus('ServiceRunning', null), { label: 'Starting', tone: 'Starting' });
    assert.deepEqual(headerStatus('ServiceRunning', pod('Pending', false, 'ContainerCreating')), { label: 'Starting', tone: 'Starting' });
    assert.deepEqual(headerStatus('ServiceRunning', pod('Running', false, 'CrashLoopBackOff')), { label: 'Not running', tone: 'Trouble' });
    assert.deepEqual(headerStatus('ServiceRunning', pod('Running', true)), { label: 'Running', tone: 'ServiceRunning' });
    assert.deepEqual(headerStatus('ServiceStop', null), { label: 'Stopped', tone: 'ServiceStop' });
  });
});
