import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OrderRecord } from '../../src/domain/records.js';
import { StringPool } from '../../src/kernel/string-pool.js';
import { KnownOrders } from '../../src/store/known-orders.js';

/** An order as a database row read makes it: every string a fresh copy. */
function readOrder(id: string, version: number, spec: unknown = { region: 'ausrine', containers: [{ name: 'app', image: 'registry.example/app:1', ports: [{ containerPort: 80, protocol: 'TCP' }], env: [] }] }): OrderRecord {
  return JSON.parse(
    JSON.stringify({
      id,
      secretHash: `hash-of-${id}`,
      provider: 'v-kube-service',
      service: 'Container Service',
      serviceOptions: { resourceUnit: '1-Unit-Resource', portSpecification: 'User Specified Service Port' },
      serviceStatus: 'ServiceRunning',
      region: 'ausrine',
      spec,
      version,
    }),
  ) as OrderRecord;
}

describe('KnownOrders', () => {
  it('hands back the kept copy only at the version it was kept at', () => {
    const known = new KnownOrders(10);
    known.keep(readOrder('o1', 3));
    assert.equal(known.at('o1', 3)?.id, 'o1');
    assert.equal(known.at('o1', 4), undefined, 'a newer version is read again');
    assert.equal(known.at('o2', 3), undefined);
  });

  it('pools the strings of every kept order, at any depth, and changes nothing else', () => {
    const strings = new StringPool(1_000);
    const known = new KnownOrders(10, strings);
    const kept = known.keep(readOrder('o1', 1));
    assert.deepEqual(kept, readOrder('o1', 1), 'the same content');
    assert.ok(Object.isFrozen(kept));
    for (const s of ['v-kube-service', 'User Specified Service Port', 'registry.example/app:1', 'TCP', 'hash-of-o1']) assert.ok(strings.has(s), `${s} is pooled`);
    // A second order with the same values takes the pooled copies: no new entries for them.
    const before = strings.size;
    known.keep(readOrder('o2', 1));
    assert.equal(strings.size, before + 2, 'only its own id and secret hash are new');
  });

  it('leaves a key named __proto__ as a key, never as the prototype', () => {
    const known = new KnownOrders(10);
    const order = readOrder('o1', 1, JSON.parse('{"__proto__": {"polluted": "yes"}, "region": "ausrine"}'));
    const kept = known.keep(order);
    const spec = kept.spec as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(spec), Object.prototype);
    assert.deepEqual(Object.keys(spec), ['__proto__', 'region']);
    assert.equal((({}) as Record<string, unknown>).polluted, undefined);
  });

  it('keeps a copy that can still be cloned and edited without touching the kept one', () => {
    const known = new KnownOrders(10);
    const kept = known.keep(readOrder('o1', 1));
    const edited = structuredClone(kept) as OrderRecord & { spec: { containers: Array<{ env: unknown[]; ports: unknown[] }> } };
    edited.spec.containers[0]!.env.push({ name: 'A', value: 'b' });
    assert.equal(edited.spec.containers[0]!.ports.length, 1, 'pooling shared no arrays');
    assert.deepEqual((kept.spec as { containers: Array<{ env: unknown[] }> }).containers[0]!.env, []);
  });
});
