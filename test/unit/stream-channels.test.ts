/**
 * The Kubernetes channel framing V-Kube speaks for exec and port-forward
 * (src/kernel/stream-channels.ts), and the session registry's limits (sessions.ts),
 * without a cluster: frames, exit statuses, port prefixes split across frames, the
 * secret subprotocol, the output cap, the cap per order, idle and maximum length.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TooManyRequestsError } from '../../src/kernel/errors.js';
import { PidLine } from '../../src/domain/exec.js';
import { type EndReason, SessionRegistry } from '../../src/domain/sessions.js';
import {
  CappedBuffer,
  closeFrame,
  exitStatus,
  frame,
  isClientFrame,
  parseFrame,
  parseResize,
  PortForwardDecoder,
  resizeFrame,
  secretProtocol,
  splitProtocols,
} from '../../src/kernel/stream-channels.js';

describe('exec frames', () => {
  it('puts the channel first and reads it back', () => {
    assert.deepEqual([...frame(0, 'ls\n')], [0, 0x6c, 0x73, 0x0a]);
    assert.deepEqual(parseFrame(Buffer.from([2, 0x61])), { channel: 2, data: Buffer.from('a') });
    assert.equal(parseFrame(Buffer.alloc(0)), undefined, 'an empty message carries no channel');
    assert.deepEqual([...closeFrame(0)], [255, 0]);
    assert.deepEqual(parseResize(parseFrame(resizeFrame(120, 40))!.data), { width: 120, height: 40 });
  });

  it('lets a client send stdin, a resize that parses and the close of stdin, nothing else', () => {
    assert.ok(isClientFrame({ channel: 0, data: Buffer.from('x') }));
    assert.ok(isClientFrame(parseFrame(resizeFrame(80, 24))!));
    assert.ok(isClientFrame(parseFrame(closeFrame(0))!));
    assert.ok(!isClientFrame({ channel: 4, data: Buffer.from('{"Width":-1,"Height":2}') }), 'a negative width');
    assert.ok(!isClientFrame({ channel: 4, data: Buffer.from('not json') }));
    assert.ok(!isClientFrame({ channel: 1, data: Buffer.from('fake stdout') }));
    assert.ok(!isClientFrame({ channel: 3, data: Buffer.from('{"status":"Success"}') }), 'a forged exit status');
    assert.ok(!isClientFrame(parseFrame(closeFrame(1))!), 'closing another channel than stdin');
  });

  it('reads the exit code from the status Kubernetes sends on channel 3', () => {
    assert.deepEqual(exitStatus('{"metadata":{},"status":"Success"}'), { exitCode: 0 });
    const failure = {
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    };
    assert.deepEqual(exitStatus(JSON.stringify(failure)), { exitCode: 3, message: failure.message });
    const notFound = { status: 'Failure', message: 'exec: "nope": executable file not found in $PATH', reason: 'InternalError' };
    assert.deepEqual(exitStatus(Buffer.from(JSON.stringify(notFound))), { exitCode: null, message: notFound.message });
    assert.equal(exitStatus('{').exitCode, null);
  });
});

describe('port-forward frames', () => {
  it('strips the 2-byte port from the first frame of each channel, even split or joined to data', () => {
    const d = new PortForwardDecoder();
    // 8080 little-endian is 0x90 0x1f.
    assert.deepEqual(d.push(Buffer.from([0, 0x90, 0x1f])), { channel: 0, data: Buffer.alloc(0) });
    assert.deepEqual(d.push(Buffer.from([1, 0x90])), { channel: 1, data: Buffer.alloc(0) });
    assert.deepEqual(d.push(Buffer.from([1, 0x1f, 0x65])), { channel: 1, data: Buffer.from('e') }, 'the rest of the prefix, then data');
    assert.deepEqual(d.push(Buffer.from([0, 0x90, 0x1f])), { channel: 0, data: Buffer.from([0x90, 0x1f]) }, 'later frames are all data');
    const joined = new PortForwardDecoder();
    assert.deepEqual(joined.push(Buffer.from([0, 0x50, 0, 0x48, 0x49])), { channel: 0, data: Buffer.from('HI') });
  });
});

describe('the secret subprotocol', () => {
  it('round-trips any secret and leaves the other protocols', () => {
    for (const secret of ['s3cret', 'vkt_abc', 'with/slash+plus=', 'äöü ✓']) {
      const offered = `v5.channel.k8s.io, ${secretProtocol(secret)}`;
      assert.match(secretProtocol(secret), /^base64url\.vkube\.secret\.[A-Za-z0-9_-]+$/, 'a valid token for the header');
      assert.deepEqual(splitProtocols(offered), { protocols: ['v5.channel.k8s.io'], secret });
    }
    assert.deepEqual(splitProtocols(undefined), { protocols: [] });
    assert.deepEqual(splitProtocols('base64url.vkube.secret.not=padded'), { protocols: [] }, 'padding is not base64url');
  });
});

describe('the output cap', () => {
  it('keeps what fits, counts the rest, and never splits a character', () => {
    const b = new CappedBuffer(5);
    b.push(Buffer.from('abc'));
    b.push(Buffer.from('dé'));
    assert.equal(b.truncated, true);
    assert.equal(b.text(), 'abcd', 'the é cut at the cap is left out whole');
    const fits = new CappedBuffer(10);
    fits.push(Buffer.from('é').subarray(0, 1));
    fits.push(Buffer.from('é').subarray(1));
    assert.equal(fits.text(), 'é', 'a character split across frames arrives whole');
    assert.equal(fits.truncated, false);
  });
});

describe("the one-shot exec wrapper's PID line", () => {
  it('is taken off the front of stderr, even split across frames; anything else is left alone', () => {
    const p = new PidLine();
    assert.equal(p.push(Buffer.from('vkube-exec-')).length, 0);
    assert.equal(p.push(Buffer.from('pid 4')).length, 0);
    assert.equal(p.push(Buffer.from('2\nreal stderr')).toString(), 'real stderr');
    assert.equal(p.value, 42);
    assert.equal(p.push(Buffer.from('vkube-exec-pid 7\n')).toString(), 'vkube-exec-pid 7\n', 'only the first line');
    const other = new PidLine();
    assert.equal(other.push(Buffer.from('vkube-e')).length, 0, 'could still be the line');
    assert.equal(other.push(Buffer.from('rror\n')).toString(), 'vkube-error\n', 'was not: given back whole');
    assert.equal(other.value, undefined);
  });
});

describe('the session registry', () => {
  const registry = (now: () => number, live = async (_id: string) => true) =>
    new SessionRegistry({ maxPerOrder: 2, idleMs: 1000, maxMs: 5000, orderCheckMs: 0 }, { orderLive: live, now });

  it('refuses a session over the cap with 429, per order, and frees a place when one ends', () => {
    const r = registry(Date.now);
    const ended: EndReason[] = [];
    const a = r.open({ kind: 'shell', orderId: 'o1', timed: true }, (why) => ended.push(why));
    r.open({ kind: 'logs', orderId: 'o1', timed: false }, () => {});
    assert.throws(() => r.open({ kind: 'exec', orderId: 'o1', timed: false }, () => {}), (err: Error) => err instanceof TooManyRequestsError && /1 interactive exec, 1 followed log/.test(err.message));
    r.open({ kind: 'portforward', orderId: 'o2', timed: true }, () => {});
    a.end('client');
    a.end('idle');
    assert.deepEqual(ended, ['client'], 'ends once');
    r.open({ kind: 'exec', orderId: 'o1', timed: false }, () => {});
    assert.equal(r.count('o1'), 2);
    r.endAll();
    assert.equal(r.count('o1') + r.count('o2'), 0);
  });

  it('ends idle and overlong timed sessions, not followed logs, and the sessions of an order that ended or a pod that went', async () => {
    let now = 0;
    let live = true;
    const r = registry(() => now, async () => live);
    const why = new Map<string, EndReason>();
    const open = (name: string, timed: boolean, orderId = 'o1', podUid?: string) =>
      r.open({ kind: timed ? 'shell' : 'logs', orderId, timed, ...(podUid ? { podUid } : {}) }, (reason) => why.set(name, reason));
    const idle = open('idle', true);
    const busy = open('busy', true, 'o2');
    open('logs', false, 'o3');
    now = 900;
    busy.touch();
    r.sweep();
    assert.equal(why.size, 0);
    now = 1000;
    r.sweep();
    assert.equal(why.get('idle'), 'idle');
    assert.equal(idle.endedWith, 'idle');
    for (now = 1000; now <= 5000; now += 500) {
      busy.touch();
      r.sweep();
    }
    assert.equal(why.get('busy'), 'max-length', 'however busy');
    assert.equal(why.has('logs'), false, 'a quiet log is not idle');
    open('pod', false, 'o4', 'uid-1');
    r.endPod('uid-1');
    assert.equal(why.get('pod'), 'pod-gone');
    live = false;
    r.sweep();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(why.get('logs'), 'order-ended');
  });
});
