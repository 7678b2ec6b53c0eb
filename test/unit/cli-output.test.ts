/** `vkube`'s human output helpers and its exit codes for V-Kube's answers and network failures. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError, ExitCode, fromHttpStatus, toCliError } from '../../src/cli/errors.js';
import { Output, fields, formatDuration, relativeTime, table } from '../../src/cli/output.js';
import { VkubeApiError } from '../../src/sdk/client.js';

describe('human output', () => {
  it('aligns tables and label lists', () => {
    assert.equal(table(['PORT', 'STATUS'], [['22', 'taken'], ['8080', 'free']]), 'PORT  STATUS\n22    taken\n8080  free');
    assert.equal(fields([['Pod', 'p1'], ['Host IP', '10.0.0.1'], ['Gone', undefined]]), 'Pod      p1\nHost IP  10.0.0.1');
  });

  it('says durations and times the short way', () => {
    assert.equal(formatDuration(0), '0s');
    assert.equal(formatDuration(90), '1m 30s');
    assert.equal(formatDuration(7200), '2h');
    assert.equal(formatDuration(90_061), '1d 1h');
    assert.equal(relativeTime(1000 + 86_399, 1000 * 1000), 'in 23h 59m');
    assert.equal(relativeTime(1000 - 302, 1000 * 1000), '5m 2s ago');
    assert.equal(relativeTime(1000, 1000 * 1000), 'just now');
  });

  it('prints exactly one JSON document with --json, the error envelope included', () => {
    let stdout = '';
    let stderr = '';
    const out = new Output(true, { write: (t: string) => (stdout += t) }, { write: (t: string) => (stderr += t) });
    out.print('human only');
    out.progress('progress only');
    out.error(new CliError('host port 6001 is already taken', ExitCode.conflict, 409));
    assert.deepEqual(JSON.parse(stdout), { error: { code: 'conflict', message: 'host port 6001 is already taken', exitCode: 5, httpStatus: 409 } });
    assert.equal(stderr, '');
  });
});

describe('exit codes', () => {
  it('follow the HTTP status V-Kube answered', () => {
    const code = (status: number) => fromHttpStatus(status, 'm', 'http://v').exitCode;
    assert.deepEqual([400, 401, 403, 404, 409, 429, 500, 502, 503, 418].map(code), [6, 3, 3, 4, 5, 7, 7, 7, 7, 1]);
    assert.equal(toCliError(new VkubeApiError(409, 'taken'), 'http://v').exitCode, ExitCode.conflict);
  });

  it('say that V-Kube cannot be reached, and why', () => {
    const err = toCliError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), 'http://127.0.0.1:9');
    assert.equal(err.exitCode, ExitCode.unavailable);
    assert.equal(err.message, 'cannot reach V-Kube at http://127.0.0.1:9: connection refused (ECONNREFUSED)');
    assert.equal(toCliError(new Error('boom')).exitCode, ExitCode.generic);
  });
});
