import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { listItems } from '../../src/kernel/list-items.js';

/** Forces the item-by-item path whatever the text's length. */
const SLICED = { wholeBelowChars: 0 };

function podMetrics(i: number): object {
  return {
    metadata: { name: `workload-${i}`, namespace: `vkube-${i}`, labels: { 'app.kubernetes.io/managed-by': 'vkube', 'a "quoted" \\ label': '[{,}]' } },
    timestamp: '2026-12-04T10:00:00Z',
    window: '10.5s',
    containers: [{ name: 'web', usage: { cpu: `${i}n`, memory: `${i}Ki` } }],
  };
}

describe('listItems', () => {
  it('gives the items of a list, as JSON.parse does, item by item', async () => {
    const list = { kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: { resourceVersion: '1' }, items: [0, 1, 2].map(podMetrics) };
    assert.deepEqual(await listItems(JSON.stringify(list), SLICED), list.items);
    assert.deepEqual(await listItems(JSON.stringify(list, null, 2), SLICED), list.items, 'indented');
    // "items" nested deeper, or as a value, is not the list's.
    const tricky = { metadata: { items: [1], note: '"items":[2]' }, items: [{ items: [3] }, 'x', null, 4.5, true, [], {}] };
    assert.deepEqual(await listItems(JSON.stringify(tricky), SLICED), tricky.items);
  });

  it('gives no items for a list without them, or with none', async () => {
    assert.deepEqual(await listItems('{"kind":"List","items":null}', SLICED), []);
    assert.deepEqual(await listItems('{"kind":"List","items":[]}', SLICED), []);
    assert.deepEqual(await listItems('{"kind":"List","metadata":{}}', SLICED), []);
    assert.deepEqual(await listItems('{"kind":"List","items":null}'), [], 'parsed whole');
  });

  it('rejects a broken text as JSON.parse would', async () => {
    await assert.rejects(listItems('{"items":[{"a":1},{"b":', SLICED), SyntaxError);
    await assert.rejects(listItems('{"items":[{"a":1} {"b":2}]}', SLICED), SyntaxError);
    await assert.rejects(listItems('{"items":[{"a":"unclosed}]}', SLICED), SyntaxError);
    await assert.rejects(listItems('{"items":[{"a":1}', SLICED), SyntaxError);
  });

  it('lets timers run while it parses a large list', async () => {
    const text = JSON.stringify({ kind: 'PodMetricsList', items: Array.from({ length: 20_000 }, (_, i) => podMetrics(i)) });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const items = await listItems<{ metadata: { name: string } }>(text, { sliceMs: 1 });
    clearInterval(timer);
    assert.equal(items.length, 20_000);
    assert.equal(items[19_999]!.metadata.name, 'workload-19999');
    assert.ok(ticks > 0, 'a timer ran during the parse');
  });

  it('agrees with JSON.parse on any list (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 12 }), fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 3 }), fc.boolean(), async (items, other, indent) => {
        const text = JSON.stringify({ ...other, items }, null, indent ? 1 : undefined);
        assert.deepEqual(await listItems(text, SLICED), (JSON.parse(text) as { items: unknown[] }).items);
      }),
    );
  });
});
