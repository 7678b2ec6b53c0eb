/**
 * The audit log stays bounded: reads (even those sent as POST), URLs no route serves and
 * requests the rate limit turned away write no row, while refused attempts at changes
 * still do; and entries past VKUBE_AUDIT_RETENTION_DAYS are pruned, in batches, on
 * SQLite and on PostgreSQL, as often as asked without harm.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testPostgres, type TestPostgres } from '../../dev/postgres/testing.js';
import { AuditRetention } from '../../src/domain/audit-retention.js';
import { migrateToLatest, openDatabase } from '../../src/store/database.js';
import { SqlAuditStore } from '../../src/store/sql-audit.js';
import type { AuditEntry } from '../../src/domain/records.js';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { eventually } from '../helpers/eventually.js';

const DAY = 86_400;
const NOW = 4_102_444_800;
const quiet = { info() {}, warn() {} };

describe('what the audit log records', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(async () => {
    await t.close();
  });

  const total = async () => (await t.services.audit.listAudit({ limit: 1, offset: 0 })).total;

  it('no row for anonymous reads (POST /k8s/checkports) or unknown URLs; a refused attempt at a change still gets one', async () => {
    const before = await total();
    for (let i = 0; i < 20; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: { region: 'ausrine', ports: [8080] } });
      assert.equal(res.statusCode, 200, res.body);
    }
    const bad = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/checkports', payload: {} });
    assert.equal(bad.statusCode, 400, 'a malformed read is still a read');
    const unknown = await t.app.inject({ method: 'POST', url: '/api/v1/no/such/route', payload: {} });
    assert.equal(unknown.statusCode, 404);
    assert.equal(await total(), before, 'none of these wrote an audit row');

    const refused = await t.app.inject({ method: 'POST', url: '/api/v1/k8s/deploy', headers: { secret: 'not-a-secret' }, payload: {} });
    assert.equal(refused.statusCode, 401);
    // Exactly one: had the reads above written rows, however late, there would be more.
    await eventually(async () => assert.equal(await total(), before + 1, 'the refused attempt at a change is recorded'));
  });

  it('no row per request the rate limit turned away', async () => {
    const limited = await startTestApp({ env: { VKUBE_RATE_LIMIT_RPS: '1', VKUBE_RATE_LIMIT_BURST: '1' } });
    try {
      const count = async () => (await limited.services.audit.listAudit({ limit: 1, offset: 0 })).total;
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        statuses.push((await limited.app.inject({ method: 'POST', url: '/api/v1/k8s/deploy', headers: { secret: 'nobody' }, payload: {} })).statusCode);
      }
      assert.ok(statuses.filter((s) => s === 429).length >= 8, `most were throttled: ${statuses}`);
      await eventually(async () => assert.equal(await count(), statuses.filter((s) => s !== 429).length, 'only the requests let through are recorded'));
    } finally {
      await limited.close();
    }
  });
});

function entry(id: string, at: number): AuditEntry {
  return { id, at, actor: 'admin', orderId: null, action: 'POST /api/v1/admin/orders', outcome: 201, client: '127.0.0.1', requestId: id };
}

for (const [name, url] of [
  ['SQLite', async (dir: string) => `sqlite:${join(dir, 'audit.db')}`],
  ['PostgreSQL', async () => (await postgres()).createDatabase()],
] as const) {
  describe(`audit retention on ${name}`, () => {
    let dir: string;
    let audit: SqlAuditStore;
    let destroy: () => Promise<void>;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'vkube-audit-'));
      const { db } = openDatabase(await url(dir));
      await migrateToLatest(db);
      audit = new SqlAuditStore(db);
      destroy = () => db.destroy();
      // More old rows than one batch of the prune deletes.
      const rows = Array.from({ length: 12_345 }, (_, i) => ({ id: `old-${i}`, at: NOW - 100 * DAY - i, actor: 'admin', order_id: null, action: 'x', outcome: 200, client: 'c', request_id: 'r' }));
      for (let i = 0; i < rows.length; i += 1000) await db.insertInto('audit_log').values(rows.slice(i, i + 1000)).execute();
      await audit.appendAudit(entry('edge-kept', NOW - 90 * DAY));
      await audit.appendAudit(entry('recent', NOW - DAY));
    });
    after(async () => {
      await destroy();
      await rm(dir, { recursive: true, force: true });
    });

    it('deletes every entry older than the retention, keeps the rest, and a second pass deletes nothing', async () => {
      const retention = new AuditRetention({ audit, clock: { now: () => NOW }, retentionDays: 90, log: quiet });
      assert.equal(await retention.pruneOnce(), 12_345, 'all old rows, across several batches');
      const left = await audit.listAudit({ limit: 100, offset: 0 });
      assert.deepEqual(left.items.map((e) => e.id).sort(), ['edge-kept', 'recent'], 'an entry exactly at the cutoff is kept');
      assert.equal(await retention.pruneOnce(), 0, 'idempotent');
    });

    it('runs by itself once started, and not at all with retention 0', async () => {
      await audit.appendAudit(entry('stale', NOW - 200 * DAY));
      const never = new AuditRetention({ audit, clock: { now: () => NOW }, retentionDays: 0, log: quiet, firstDelayMs: 1 });
      never.start();
      await new Promise((r) => setTimeout(r, 100));
      await never.stop();
      assert.equal(await never.pruneOnce(), 0, 'retention 0 keeps everything');
      assert.equal((await audit.listAudit({ limit: 100, offset: 0 })).total, 3, 'the stale entry is still there');

      const periodic = new AuditRetention({ audit, clock: { now: () => NOW }, retentionDays: 30, log: quiet, firstDelayMs: 1, intervalMs: 50 });
      periodic.start();
      try {
        await eventually(async () => assert.deepEqual((await audit.listAudit({ limit: 100, offset: 0 })).items.map((e) => e.id), ['recent'], 'pruned by the timer'));
      } finally {
        await periodic.stop();
      }
    });
  });
}

let server: TestPostgres | undefined;
async function postgres(): Promise<TestPostgres> {
  server ??= await testPostgres();
  return server;
}
after(async () => {
  await server?.stop();
});
