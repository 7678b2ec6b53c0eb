/** Pure parts of issue 20 items 1–3: VKUBE_PUBLIC_HOSTS, endpoints, history summaries, rollback bodies (the kubelet's pod figures: pod-usage.test.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { entryView, specAsBody } from '../../src/domain/deploy-history.js';
import type { DeploySpec } from '../../src/domain/deploy-spec.js';
import { EndpointService } from '../../src/domain/endpoints.js';
import { type UsageHistoryDeps, type UsageSample, UsageHistoryService } from '../../src/domain/usage-history.js';
import type { PodMetricsJson } from '../../src/cluster/gateway.js';
import type { UsageRow } from '../../src/domain/records.js';

const base = { DATABASE_URL: 'sqlite::memory:', KUBECONFIG: '' };

describe('VKUBE_PUBLIC_HOSTS', () => {
  it('maps regions to host names or addresses', () => {
    const c = loadConfig({ ...base, VKUBE_PUBLIC_HOSTS: 'ausrine=Ausrine.Example.com, giltine=203.0.113.7,laima=[2001:db8::1]' }, '/');
    assert.deepEqual(c.publicHosts, { ausrine: 'ausrine.example.com', giltine: '203.0.113.7', laima: '2001:db8::1' });
    assert.deepEqual(loadConfig(base, '/').publicHosts, {});
  });
  for (const [value, message] of [
    ['ausrine', /VKUBE_PUBLIC_HOSTS: "ausrine" is not region=host/],
    ['ausrine=http://a.example.com', /region ausrine: "http:\/\/a\.example\.com" is not a host name or IP address/],
    ['ausrine=a.example.com:8080', /is not a host name or IP address/],
    ['ausrine=a.example.com,ausrine=b.example.com', /region ausrine is given twice/],
    ['bad region=a.example.com', /"bad region" is not a region name/],
  ] as const) {
    it(`refuses ${value}`, () => {
      assert.throws(() => loadConfig({ ...base, VKUBE_PUBLIC_HOSTS: value }, '/'), (err: unknown) => err instanceof ConfigError && message.test(err.message));
    });
  }
  it('bounds the usage sampling interval to 30 s', () => {
    assert.throws(() => loadConfig({ ...base, VKUBE_USAGE_INTERVAL_SECONDS: '60' }, '/'), /VKUBE_USAGE_INTERVAL_SECONDS=60: must be an integer from 1 to 30/);
    assert.deepEqual(loadConfig(base, '/').usage, { intervalSeconds: 30, retentionHours: 24 });
  });
});

describe('endpoints', () => {
  const pod = {
    spec: { nodeName: 'n1', containers: [{ name: 'web', ports: [{ containerPort: 80, hostPort: 41234, protocol: 'TCP' }, { containerPort: 53, hostPort: 41235, protocol: 'UDP' }, { containerPort: 9000 }] }] },
    status: { hostIP: '10.0.0.5' },
  };
  const nodes = (addresses: Array<{ type: string; address: string }>) => ({ addressesOfNode: (name: string) => (name === 'n1' ? addresses : undefined) });

  it("prefers the provider's host, then the node's ExternalIP", () => {
    const internalOnly = [{ type: 'InternalIP', address: '10.0.0.5' }];
    const withExternal = [...internalOnly, { type: 'ExternalIP', address: '198.51.100.4' }];
    const provider = new EndpointService(nodes(withExternal), { r: 'r.example.com' }).endpoints(pod, 'r', []);
    assert.deepEqual(provider[0], { container: 'web', containerPort: 80, protocol: 'TCP', host: 'r.example.com', hostPort: 41234, url: 'http://r.example.com:41234/', source: 'provider' });
    assert.deepEqual(provider[1], { container: 'web', containerPort: 53, protocol: 'UDP', host: 'r.example.com', hostPort: 41235, source: 'provider' }, 'UDP: no URL');
    assert.equal(provider.length, 2, 'a port without a host port is not reachable from outside');
    const node = new EndpointService(nodes(withExternal), {}).endpoints(pod, 'r', []);
    assert.equal(node[0]!.host, '198.51.100.4');
    assert.equal(node[0]!.source, 'node');
    const none = new EndpointService(nodes(internalOnly), {}).endpoints(pod, 'r', []);
    assert.equal(none[0]!.host, null);
    assert.equal(none[0]!.url, undefined);
    assert.equal(none[0]!.internalHost, '10.0.0.5');
    assert.match(none[0]!.note!, /no public address/);
  });

  it('are made once per pod and node: the same objects give the same list, a changed node or pod a new one', () => {
    let addresses = [{ type: 'ExternalIP', address: '198.51.100.4' }];
    const service = new EndpointService({ addressesOfNode: () => addresses }, {});
    const first = service.endpoints(pod, 'r', []);
    assert.equal(service.endpoints({ spec: pod.spec, status: pod.status }, 'r', []), first, 'a status read makes nothing again');
    // The watch cache replaces a node on every change: its new addresses show at once.
    addresses = [{ type: 'ExternalIP', address: '198.51.100.9' }];
    const moved = service.endpoints(pod, 'r', []);
    assert.notEqual(moved, first);
    assert.equal(moved[0]!.host, '198.51.100.9');
    assert.equal(service.endpoints({ spec: pod.spec, status: { hostIP: '10.0.0.6' } }, 'r', [])[0]!.host, '198.51.100.9', 'a new pod status: made again, same answer');
    const withDomain = service.endpoints(pod, 'r', [{ domain: 'shop.example.com', containerPort: 80, isHttps: true }]);
    assert.equal(withDomain.length, 3, 'domains are never answered from the list made without them');
    assert.equal(service.endpoints(pod, 'r', []).length, 2);
  });

  it('turns custom domains into URLs', () => {
    const e = new EndpointService(nodes([]), {}).endpoints(pod, 'r', [
      { domain: 'shop.example.com', containerPort: 80, isHttps: true },
      { domain: 'plain.example.com', containerPort: 80, isHttps: false },
    ]);
    assert.deepEqual(e.slice(2).map((x) => [x.url, x.hostPort, x.container]), [
      ['https://shop.example.com/', 443, 'web'],
      ['http://plain.example.com/', 80, 'web'],
    ]);
  });
});

describe('deploy history', () => {
  const spec: DeploySpec = {
    region: 'ausrine',
    shape: 'seed',
    registryLogins: [{ username: 'u', password: 'sealed:x' }],
    containers: [
      {
        name: 'web',
        image: 'nginx:1.27',
        ports: [{ containerPort: 80, hostPort: 41234, protocol: 'TCP' }],
        memoryBytes: 100 * 2 ** 20,
        cpuMillis: 48,
        units: 1,
        env: [{ name: 'A', value: '1' }],
        command: ['/bin/sh', '-c', 'x'],
        configFiles: [{ path: '/etc/app.conf', content: 'k=v' }],
        exposedPorts: [],
        loginIndex: 0,
        probes: { livenessProbe: { tcpSocket: { port: 80 } } },
      },
    ],
  };

  it('summarises a spec in one line', () => {
    const v = entryView(spec, 7, 1_700_000_000, true);
    assert.equal(v.summary, 'web: nginx:1.27, 80→41234/TCP');
    assert.equal(v.time, '2023-11-14T22:13:20Z');
  });

  it('turns a spec back into the deploy body of its shape, with the registry password opened', () => {
    const body = specAsBody(spec, (s) => s.replace('sealed:', 'open:'));
    assert.deepEqual(body, {
      nodeSelector: { region: 'ausrine' },
      containers: [
        {
          name: 'web',
          imageName: 'nginx:1.27',
          ports: [{ containerPort: 80, hostPort: 41234, protocol: 'TCP' }],
          envs: [{ name: 'A', value: '1' }],
          command: ['/bin/sh', '-c', 'x'],
          configMap: { '/etc/app.conf': 'k=v' },
          livenessProbe: { tcpSocket: { port: 80 } },
          resource: { memory: '100Mi' },
        },
      ],
      pvtLogin: [{ username: 'u', password: 'open:x' }],
    });
    const client = specAsBody({ ...spec, shape: 'client', registryLogins: [] }, (s) => s);
    assert.equal((client.containers as Array<Record<string, unknown>>)[0]!.resourceUnit, 1);
    assert.equal(client.pvtLogin, undefined);
  });
});

describe('usage samples', () => {
  const pod = (name: string, containers: string[], order = 'o1') => ({
    metadata: { name, namespace: `vkube-${order}`, uid: `uid-${name}`, labels: { 'vkube.dev/order': order }, creationTimestamp: '2026-12-03T10:00:00Z' },
    spec: { nodeName: 'laima-1', containers: containers.map((n) => ({ name: n })) },
    status: { phase: 'Running' },
  });
  const summary = {
    pods: [
      {
        podRef: { namespace: 'vkube-o1', name: 'app', uid: 'uid-app' },
        containers: [
          { name: 'web', cpu: { usageNanoCores: 250_000_000 }, memory: { workingSetBytes: 50 * 2 ** 20 } },
          { name: 'side', cpu: { usageNanoCores: 1_000_000 }, memory: { workingSetBytes: 2 ** 20 } },
        ],
      },
    ],
  };
  /** A sampler over these pods and readings; what it stores goes to `rows`. */
  function sampler(pods: Array<ReturnType<typeof pod>>, readings: Pick<UsageHistoryDeps['cluster'], 'managedPodMetrics' | 'kubeletSummary'>, rows: UsageRow[]): UsageHistoryService {
    return new UsageHistoryService({
      cluster: {
        managedNamespaces: () => [...new Set(pods.map((p) => p.metadata.namespace))].map((name) => ({ metadata: { name } })) as never,
        podsInNamespace: (ns: string) => pods.filter((p) => p.metadata.namespace === ns) as never,
        ...readings,
      },
      usage: { recordUsage: async (r) => void rows.push(...r), usageSince: async () => [], pruneUsage: async () => 0 },
      clock: { now: () => 1_000 },
      intervalSeconds: 30,
      retentionHours: 24,
      log: { warn: () => undefined },
    });
  }

  async function sampleWith(metrics: PodMetricsJson | undefined): Promise<UsageSample> {
    const rows: UsageRow[] = [];
    const service = sampler([pod('app', ['web', 'side'])], { managedPodMetrics: async () => new Map(metrics ? [['vkube-o1/app', metrics]] : []), kubeletSummary: async () => summary }, rows);
    assert.equal(await service.sampleOnce(), 1);
    return rows[0]!.sample as UsageSample;
  }

  it("takes the metrics API's figures when it has them", async () => {
    const s = await sampleWith({ containers: [{ name: 'web', usage: { cpu: '100m', memory: '64Mi' } }, { name: 'side', usage: { cpu: '2m', memory: '3Mi' } }] });
    assert.deepEqual(s.containers, { web: { cpu: 0.1, memory: 64 * 2 ** 20 }, side: { cpu: 0.002, memory: 3 * 2 ** 20 } });
  });

  it('reads the metrics API once a tick and each node once, however many pods', async () => {
    const calls = { metrics: 0, summary: 0 };
    const rows: UsageRow[] = [];
    const pods = Array.from({ length: 50 }, (_, i) => pod(`app-${i}`, ['web'], `o${i}`));
    const service = sampler(
      pods,
      {
        managedPodMetrics: async () => {
          calls.metrics++;
          return new Map(pods.map((p, i) => [`${p.metadata.namespace}/${p.metadata.name}`, { containers: [{ name: 'web', usage: { cpu: `${i + 1}m`, memory: '1Mi' } }] }]));
        },
        kubeletSummary: async () => {
          calls.summary++;
          return { pods: [] };
        },
      },
      rows,
    );
    assert.equal(await service.sampleOnce(), 50);
    assert.deepEqual(calls, { metrics: 1, summary: 1 });
    // Each pod gets its own figure from the one list.
    assert.deepEqual(
      rows.map((r) => [r.orderId, (r.sample as UsageSample).containers.web!.cpu]),
      pods.map((_, i) => [`o${i}`, (i + 1) / 1000]),
    );
  });

  it("takes the kubelet's own figures for what metrics-server has not scraped yet", async () => {
    assert.deepEqual((await sampleWith(undefined)).containers, { web: { cpu: 0.25, memory: 50 * 2 ** 20 }, side: { cpu: 0.001, memory: 2 ** 20 } });
    const partly = await sampleWith({ containers: [{ name: 'web', usage: { cpu: '100m', memory: '64Mi' } }] });
    assert.deepEqual(partly.containers, { web: { cpu: 0.1, memory: 64 * 2 ** 20 }, side: { cpu: 0.001, memory: 2 ** 20 } });
  });
});
