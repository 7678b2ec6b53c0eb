import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StringPool } from '../../src/kernel/string-pool.js';
import { ValuePool } from '../../src/kernel/value-pool.js';

type Pod = { metadata: { name: string }; spec: { tolerations: Array<{ key: string; operator: string }>; containers: Array<{ name: string; ports: Array<{ containerPort: number; protocol: string }>; env: unknown[]; securityContext: { capabilities: { drop: string[] } } }> } };

const pod = (name: string, port: number): Pod =>
  JSON.parse(
    JSON.stringify({
      metadata: { name },
      spec: {
        tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }],
        containers: [{ name: 'app', ports: [{ containerPort: port, protocol: 'TCP' }], env: [], securityContext: { capabilities: { drop: ['ALL'] } } }],
      },
    }),
  ) as Pod;

const newPool = (generation = 100, maxKeyLength = 256) => new ValuePool(new StringPool(1_000), generation, maxKeyLength);

describe('ValuePool', () => {
  it('gives equal small pieces of different objects one frozen copy', () => {
    const pool = newPool();
    const a = pool.share(pod('a', 80));
    const b = pool.share(pod('b', 81));
    assert.equal(a.spec.tolerations, b.spec.tolerations, 'the same tolerations are one array');
    assert.equal(a.spec.containers[0]!.securityContext, b.spec.containers[0]!.securityContext);
    assert.equal(a.spec.containers[0]!.env, b.spec.containers[0]!.env, 'empty lists too');
    assert.notEqual(a.spec.containers[0]!.ports, b.spec.containers[0]!.ports, 'different ports are not shared');
    assert.ok(Object.isFrozen(a.spec.tolerations) && Object.isFrozen(a.spec.tolerations[0]));
    assert.throws(() => a.spec.containers[0]!.securityContext.capabilities.drop.push('NET_RAW'), TypeError, 'a shared piece cannot be changed in place');
    assert.deepEqual(b, pod('b', 81), 'the object still reads as parsed');
  });

  it('never shares or freezes the object it is given, nor a piece too long to be worth a key', () => {
    const pool = newPool(100, 45);
    const a = pool.share(pod('a', 80));
    const b = pool.share(pod('b', 80));
    assert.ok(!Object.isFrozen(a) && !Object.isFrozen(a.spec));
    assert.equal(a.spec.containers[0]!.ports, b.spec.containers[0]!.ports, 'short: shared');
    assert.notEqual(a.spec.tolerations, b.spec.tolerations, 'over 45 characters of JSON: left alone');
    assert.ok(!Object.isFrozen(a.spec.tolerations));
  });

  it('tells apart what only looks alike: a number from a string, key order, a quote inside a string', () => {
    const pool = newPool();
    const v = pool.share(
      JSON.parse('{"x":[{"n":1},{"n":"1"},{"a":1,"b":2},{"b":2,"a":1},["a","b"],["a\\",\\"b"]],"y":[{"n":1},{"n":"1"},{"a":1,"b":2},{"b":2,"a":1},["a","b"],["a\\",\\"b"],"not in x"]}'),
    ) as { x: unknown[]; y: unknown[] };
    assert.notEqual(v.x, v.y);
    for (let i = 0; i < v.x.length; i++) {
      assert.equal(v.x[i], v.y[i], `piece ${i} is shared with its equal`);
      for (let j = 0; j < v.x.length; j++) if (i !== j) assert.notEqual(v.x[i], v.x[j], `piece ${i} is not piece ${j}`);
    }
  });

  it('keeps a piece in use across generations and drops one seen once', () => {
    const pool = newPool(4);
    const first = pool.share({ c: [{ drop: ['ALL'] }] }).c[0]!;
    for (let i = 0; i < 30; i++) {
      pool.share({ c: [{ ip: `10.0.0.${i}` }] });
      assert.equal(pool.share({ c: [{ drop: ['ALL'] }] }).c[0], first, 'found again every time');
      assert.ok(pool.size <= 8, `bounded by two generations, holds ${pool.size}`);
    }
    assert.ok(pool.holds({ ip: '10.0.0.29' }));
    assert.ok(!pool.holds({ ip: '10.0.0.0' }), 'seen once, long ago: dropped');
  });

  it('pools strings, and leaves a "__proto__" key where it is', () => {
    const strings = new StringPool(100);
    const pool = new ValuePool(strings, 100);
    const v = pool.share(JSON.parse('{"a":{"__proto__":{"x":1},"y":"vkube-order-one"},"b":"vkube-order-one"}')) as Record<string, Record<string, unknown>>;
    assert.ok(strings.has('vkube-order-one'));
    assert.equal(Object.getPrototypeOf(v.a), Object.prototype, 'the prototype was not set');
    assert.deepEqual(Object.keys(v.a!), ['__proto__', 'y']);
    assert.ok(!Object.isFrozen(v.a), 'not shared');
  });
});
