/** `vkube port-forward`'s port pairs and how `vkube` words a session's close. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePortPair } from '../../src/cli/commands/port-forward.js';
import { CliError, ExitCode } from '../../src/cli/errors.js';
import { closeText } from '../../src/cli/pod-socket.js';

describe('vkube port-forward port pairs', () => {
  it('reads LOCAL:POD, :POD (a free local port) and PORT (the same port)', () => {
    assert.deepEqual(parsePortPair('8080:80'), { local: 8080, remote: 80 });
    assert.deepEqual(parsePortPair(':5432'), { local: 0, remote: 5432 });
    assert.deepEqual(parsePortPair('0:5432'), { local: 0, remote: 5432 });
    assert.deepEqual(parsePortPair('443'), { local: 443, remote: 443 });
    assert.deepEqual(parsePortPair(' 65535:1 '), { local: 65535, remote: 1 });
  });

  it('refuses anything else as a usage error that names the pair and the side', () => {
    for (const [text, why] of [
      ['80:0', /"80:0": the pod port must be a number from 1 to 65535/],
      ['80:70000', /the pod port must be/],
      ['70000:80', /"70000:80": the local port must be a number from 0 to 65535/],
      ['a:80', /is not a port pair/],
      ['80:', /is not a port pair/],
      ['1:2:3', /is not a port pair/],
      ['', /is not a port pair/],
    ] as const) {
      assert.throws(
        () => parsePortPair(text),
        (err: unknown) => err instanceof CliError && err.exitCode === ExitCode.usage && why.test(err.message),
        text,
      );
    }
  });
});

describe("a session's close in words", () => {
  it('gives the reason V-Kube sent, else what the code means', () => {
    assert.equal(closeText(1008, 'idle for too long (VKUBE_SESSION_IDLE_SECONDS)'), 'idle for too long (VKUBE_SESSION_IDLE_SECONDS) (WebSocket close 1008)');
    assert.equal(closeText(1006, ''), 'the connection to V-Kube was lost');
    assert.equal(closeText(1011, ''), 'WebSocket close 1011');
  });
});
