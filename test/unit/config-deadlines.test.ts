/** Settings of deadlines and retention: defaults, the environment, the file, and refusals naming the setting. */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const cwd = tmpdir();

describe('config: deadlines and audit retention', () => {
  it('defaults: 15 s statement timeout, 5 s connection timeout, 90 days of audit, 20 s wait for an order', () => {
    const c = loadConfig({}, cwd);
    assert.deepEqual(c.database, { statementTimeoutMs: 15_000, connectTimeoutMs: 5_000 });
    assert.equal(c.auditRetentionDays, 90);
    assert.equal(c.orderLockTimeoutMs, 20_000);
  });

  it('reads the environment, and the file under it', async () => {
    const env = { VKUBE_DB_STATEMENT_TIMEOUT_MS: '2500', VKUBE_DB_CONNECT_TIMEOUT_MS: '1000', VKUBE_AUDIT_RETENTION_DAYS: '0', VKUBE_ORDER_LOCK_TIMEOUT_MS: '3000' };
    const c = loadConfig(env, cwd);
    assert.deepEqual(c.database, { statementTimeoutMs: 2500, connectTimeoutMs: 1000 });
    assert.equal(c.auditRetentionDays, 0, '0 keeps the audit log for ever');
    assert.equal(c.orderLockTimeoutMs, 3000);

    const dir = await mkdtemp(join(tmpdir(), 'vkube-config-'));
    await writeFile(join(dir, 'vkube.yaml'), 'dbStatementTimeoutMs: 30000\nauditRetentionDays: 365\norderLockTimeoutMs: 5000\n');
    const f = loadConfig({ VKUBE_CONFIG: 'vkube.yaml', VKUBE_AUDIT_RETENTION_DAYS: '30' }, dir);
    assert.equal(f.database.statementTimeoutMs, 30_000);
    assert.equal(f.auditRetentionDays, 30, 'the environment wins over the file');
    assert.equal(f.orderLockTimeoutMs, 5000);
  });

  for (const [env, message] of [
    [{ VKUBE_DB_STATEMENT_TIMEOUT_MS: '0' }, /^VKUBE_DB_STATEMENT_TIMEOUT_MS=0: must be an integer from 100 to 600000/],
    [{ VKUBE_DB_STATEMENT_TIMEOUT_MS: '15s' }, /^VKUBE_DB_STATEMENT_TIMEOUT_MS=15s: must be an integer/],
    [{ VKUBE_DB_CONNECT_TIMEOUT_MS: '-1' }, /^VKUBE_DB_CONNECT_TIMEOUT_MS=-1: must be an integer from 100/],
    [{ VKUBE_AUDIT_RETENTION_DAYS: 'forever' }, /^VKUBE_AUDIT_RETENTION_DAYS=forever: must be an integer from 0 to 36500/],
    [{ VKUBE_ORDER_LOCK_TIMEOUT_MS: '99' }, /^VKUBE_ORDER_LOCK_TIMEOUT_MS=99: must be an integer from 100 to 600000/],
  ] as const) {
    it(`refuses ${JSON.stringify(env)} naming the setting`, () => {
      assert.throws(() => loadConfig(env, cwd), (err: unknown) => err instanceof ConfigError && message.test(err.message), `ConfigError matching ${message}`);
    });
  }
});
