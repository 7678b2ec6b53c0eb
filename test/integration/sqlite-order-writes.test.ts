/**
 * On SQLite, an order read once is known current — its next read is spared — until a
 * write of this connection names it (its row, or a domain of it), or any other
 * connection commits anything; a read overtaken by a write is not taken.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { migrateToLatest, openDatabase, type OpenDatabase } from '../../src/store/database.js';
import { SqlStore } from '../../src/store/sql-store.js';
import { SqlDomainStore } from '../../src/store/sql-domains.js';
import type { NewOrder, OrderRecord } from '../../src/domain/records.js';

const T0 = 4_102_444_800;

function newOrder(n: number): NewOrder {
  return {
    id: `order-${n}`, secretHash: `hash-${n}`, serviceID: `service-${n}`, service: '2-Unit-Resource', serviceCategoryID: 'c', provider: 'p', address: `a${n}`,
    recipient: 'r', amount: 1, amountPaid: 1, durationHours: 24, serviceOptions: { resourceUnit: '2-Unit-Resource' }, publicKey: 'k', email: `e${n}@x.test`,
    orderStatus: 'OrderFiled', serviceStatus: 'ServicePending', region: 'region-a', units: 2, createdAt: T0, updatedAt: T0,
  } as NewOrder;
}

describe('SQLite: orders known current', () => {
  let dir: string;
  let url: string;
  let opened: OpenDatabase;
  let store: SqlStore;
  let a: OrderRecord;
  let b: OrderRecord;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vkube-order-writes-'));
    url = `sqlite:${join(dir, 'v.db')}`;
    opened = openDatabase(url);
    await migrateToLatest(opened.db);
    store = new SqlStore(opened.db, opened.orderWrites);
    a = await store.insertOrder(newOrder(1));
    b = await store.insertOrder(newOrder(2));
  });
  after(async () => {
    await opened.db.destroy();
    await rm(dir, { recursive: true, force: true });
  });
  const writes = () => opened.orderWrites!;

  it('an order read is known current at the version read; a write of it, or of a domain of it, ends that', async () => {
    a = (await store.findOrderBySecretHash(a.secretHash))!;
    assert.equal(writes().versionOf(a.id), a.version);
    await opened.db.updateTable('orders').set({ description: 'by hand' }).where('id', '=', b.id).execute();
    assert.equal(writes().versionOf(b.id), undefined, 'written since it was read, by any statement of this connection');
    assert.equal(writes().versionOf(a.id), a.version, 'another order’s write leaves it current');

    const changed = await store.setMetadata(a.id, { description: 'changed' }, T0 + 1);
    assert.ok(changed.version > a.version);
    assert.equal(writes().versionOf(a.id), changed.version, 'the store read it back after its write: current at the new version');
    a = (await store.findOrder(a.id))!;
    assert.equal(a.description, 'changed');

    await new SqlDomainStore(opened.db).claimDomains(a.id, [{ domain: 'a.example.test', containerPort: 80, https: false }], T0 + 2);
    assert.equal(writes().versionOf(a.id), undefined, 'the domain moved the order’s version');
    const again = (await store.findOrderBySecretHash(a.secretHash))!;
    assert.ok(again.version > a.version);
    assert.equal(writes().versionOf(a.id), again.version);
  });

  it('a commit of any other connection ends what is known, even one that touched no order', async () => {
    await store.findOrder(a.id);
    assert.notEqual(writes().versionOf(a.id), undefined);
    const other = openDatabase(url);
    try {
      await other.db.insertInto('settings').values({ key: 'unrelated', value: '1' }).execute();
    } finally {
      await other.db.destroy();
    }
    assert.equal(writes().versionOf(a.id), undefined);
  });

  it('a read that a write overtook is not taken as current', async () => {
    const mark = writes().mark();
    await store.setMetadata(b.id, { description: 'written while a read of a was under way' }, T0 + 3);
    writes().confirm(a.id, a.version, mark);
    assert.equal(writes().versionOf(a.id), undefined);
  });
});
