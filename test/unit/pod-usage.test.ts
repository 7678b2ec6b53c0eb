/**
 * The kubelet's pod figures (src/domain/pod-usage.ts): a Summary API answer, shaped as
 * the real node's kubelet gives it (data/kubelet-summary.json), read into each pod's
 * network counters and disk use, and counters turned into rates between kubelet samples.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { KubeletSummaryJson } from '../../src/cluster/gateway.js';
import { NetworkRates, parseSummary, readNode } from '../../src/domain/pod-usage.js';

const sample = JSON.parse(readFileSync(new URL('./data/kubelet-summary.json', import.meta.url), 'utf8')) as KubeletSummaryJson;
const READ_AT = Date.parse('2026-12-03T07:39:07Z');

describe("the kubelet's Summary API", () => {
  it("reads each pod's network over all its interfaces, at the kubelet's sample time, and each container's disk", () => {
    const pods = parseSummary(sample, READ_AT);
    assert.deepEqual([...pods.keys()], ['vkube-o1/app-7d9f8-x2x4z', 'vkube-o2/starting', 'vkube-o3/one-interface']);
    assert.deepEqual(pods.get('vkube-o1/app-7d9f8-x2x4z'), {
      uid: 'd7f123a0-23d8-4693-b322-2a99c84b39d5',
      at: Date.parse('2026-12-03T07:39:05Z'),
      network: { rx: 4164 + 100, tx: 904659 + 1 },
      disk: { web: 339968 + 4096, sidecar: 8192 },
      // The sidecar has no cpu/memory block in the kubelet's answer: it has no figures.
      usage: { web: { cpu: 0.00012, memory: 344064 } },
    });
  });

  it('leaves network out for a pod the kubelet has no figures of yet, and falls back to the top-level counters and the read time', () => {
    const pods = parseSummary(sample, READ_AT);
    assert.deepEqual(pods.get('vkube-o2/starting'), { uid: '0b6c8e5e-0000-4000-8000-000000000002', at: READ_AT, network: undefined, disk: { app: 0 }, usage: {} });
    assert.deepEqual(pods.get('vkube-o3/one-interface'), { uid: undefined, at: READ_AT, network: { rx: 10, tx: 20 }, disk: {}, usage: {} });
  });

  it('ignores what is not a pod with a name, and numbers that are not counters', () => {
    const odd = {
      pods: [
        null,
        { podRef: { namespace: 'vkube-x' } },
        { podRef: { namespace: 'vkube-x', name: 'p' }, network: { interfaces: [{ rxBytes: -5, txBytes: 'many' }, { rxBytes: 7 }] } },
      ],
    } as unknown as KubeletSummaryJson;
    assert.deepEqual([...parseSummary(odd, READ_AT)], [['vkube-x/p', { uid: undefined, at: READ_AT, network: { rx: 7, tx: 0 }, disk: {}, usage: {} }]]);
    assert.equal(parseSummary({} as KubeletSummaryJson, READ_AT).size, 0);
  });

  it('reads one node through the gateway, once', async () => {
    const asked: string[] = [];
    const pods = await readNode({ kubeletSummary: async (node) => (asked.push(node), sample) }, 'laima-1', () => READ_AT);
    assert.deepEqual(asked, ['laima-1']);
    assert.equal(pods.size, 3);
  });
});

describe('network rates from cumulative counters', () => {
  it('is unknown until a second sample, then bytes per second between the kubelet samples', () => {
    const rates = new NetworkRates();
    assert.equal(rates.update('uid-1', 10_000, { rx: 1000, tx: 500 }), undefined);
    assert.deepEqual(rates.update('uid-1', 20_000, { rx: 6000, tx: 2500 }), { rx: 500, tx: 200 });
  });

  it('answers the same rate while the kubelet has not taken a new sample', () => {
    const rates = new NetworkRates();
    rates.update('uid-1', 10_000, { rx: 0, tx: 0 });
    const first = rates.update('uid-1', 20_000, { rx: 10_000, tx: 0 });
    assert.deepEqual(rates.update('uid-1', 20_000, { rx: 10_000, tx: 0 }), first);
    assert.deepEqual(rates.update('uid-1', 15_000, { rx: 1, tx: 0 }), first, 'an older sample changes nothing');
  });

  it('starts again after a counter went down or the samples are more than 5 minutes apart', () => {
    const rates = new NetworkRates();
    rates.update('uid-1', 10_000, { rx: 5000, tx: 5000 });
    assert.equal(rates.update('uid-1', 20_000, { rx: 10, tx: 10 }), undefined, 'reset');
    assert.equal(rates.update('uid-1', 20_000 + 301_000, { rx: 20, tx: 20 }), undefined, 'too far apart');
    assert.deepEqual(rates.update('uid-1', 20_000 + 311_000, { rx: 1020, tx: 20 }), { rx: 100, tx: 0 });
  });

  it('forgets pods no longer running', () => {
    const rates = new NetworkRates();
    rates.update('gone', 10_000, { rx: 0, tx: 0 });
    rates.update('kept', 10_000, { rx: 0, tx: 0 });
    rates.retain(new Set(['kept']));
    assert.equal(rates.update('gone', 20_000, { rx: 100, tx: 0 }), undefined);
    assert.deepEqual(rates.update('kept', 20_000, { rx: 100, tx: 0 }), { rx: 10, tx: 0 });
  });
});
