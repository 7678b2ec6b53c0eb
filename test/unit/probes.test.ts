/**
 * Startup, readiness and liveness probes in the deploy bodies: validated at the edge
 * (the 400 names the field), rendered into the Deployment in Kubernetes' shape, shown
 * back by GET /k8s/deployment/info, and passed through from a VKubefile.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDeployFile } from '../../src/cli/deploy-file.js';
import { loadConfig } from '../../src/config.js';
import { type DeployContext, parseClientDeploy, parseSeedDeploy } from '../../src/domain/deploy-spec.js';
import { InputError } from '../../src/kernel/errors.js';
import { workloadManifests } from '../../src/domain/manifests.js';
import { deploymentInfoView } from '../../src/http/order-views.js';
import type { OrderRecord } from '../../src/domain/records.js';

const config = loadConfig({}, '/tmp');
const ctx: DeployContext = {
  order: { units: 2, region: '', randomPorts: false, persistStorage: false },
  units: config.units,
  reservedPorts: config.reservedPorts,
  regions: ['ausrine'],
  defaultRegion: () => 'ausrine',
  isValidImage: () => true,
};

const seed = (container: Record<string, unknown>) => ({ nodeSelector: { region: 'ausrine' }, containers: [{ name: 'web', imageName: 'nginx', resource: { memory: '100Mi' }, ...container }] });
const client = (container: Record<string, unknown>) => ({ containers: [{ name: 'web', imageName: 'nginx', resourceUnit: 1, ...container }] });

function refusal(body: unknown, parse = parseSeedDeploy): string {
  try {
    parse(body, ctx);
  } catch (err) {
    assert.ok(err instanceof InputError, String(err));
    return err.message;
  }
  assert.fail('accepted');
}

function renderedContainer(spec: ReturnType<typeof parseSeedDeploy>): Record<string, unknown> {
  const order = { id: 'a'.repeat(24), units: 2, specGeneration: 1, restartGeneration: 0, description: '', customLabel: '' };
  const objects = workloadManifests({ order, spec, units: config.units, regionLabel: 'region', replicas: 1, persistStorage: false, storageClass: undefined, domains: [], ingress: config.ingress });
  const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: Array<Record<string, unknown>> } } } };
  return deployment.spec.template.spec.containers[0]!;
}

describe('probes in the deploy bodies', () => {
  it('renders all three handlers and the timing into the Deployment, in Kubernetes’ shape, with defaults filled', () => {
    const spec = parseSeedDeploy(
      seed({
        startupProbe: { tcpSocket: { port: 80 }, periodSeconds: 5, failureThreshold: 60 },
        readinessProbe: { httpGet: { port: 80 }, successThreshold: 2, timeoutSeconds: 3 },
        livenessProbe: { exec: { command: ['sh', '-c', 'test -f /tmp/ok'] }, initialDelaySeconds: 10 },
      }),
      ctx,
    );
    const c = renderedContainer(spec);
    assert.deepEqual(c.startupProbe, { tcpSocket: { port: 80 }, periodSeconds: 5, failureThreshold: 60 });
    assert.deepEqual(c.readinessProbe, { httpGet: { path: '/', port: 80, scheme: 'HTTP' }, timeoutSeconds: 3, successThreshold: 2 });
    assert.deepEqual(c.livenessProbe, { exec: { command: ['sh', '-c', 'test -f /tmp/ok'] }, initialDelaySeconds: 10 });
  });

  it('takes the same fields in the clients’ body; without probes nothing is rendered (old bodies unchanged)', () => {
    const spec = parseClientDeploy(client({ livenessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTPS' } } }), ctx);
    assert.deepEqual(spec.containers[0]!.probes, { livenessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTPS' } } });
    const plain = parseClientDeploy(client({}), ctx);
    assert.equal(plain.containers[0]!.probes, undefined);
    const c = renderedContainer(plain);
    for (const k of ['startupProbe', 'readinessProbe', 'livenessProbe']) assert.ok(!(k in c), k);
    assert.equal(parseClientDeploy(client({ readinessProbe: null }), ctx).containers[0]!.probes, undefined, 'null is no probe');
  });

  it('keeps only the named fields: no host or headers reach the kubelet', () => {
    const spec = parseSeedDeploy(seed({ livenessProbe: { httpGet: { port: 80, host: '169.254.169.254', httpHeaders: [{ name: 'x', value: 'y' }] }, grpc: { port: 1 } } }), ctx);
    assert.deepEqual(spec.containers[0]!.probes!.livenessProbe, { httpGet: { path: '/', port: 80, scheme: 'HTTP' } });
  });

  it('refuses bad probes with a 400 naming the field', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ livenessProbe: {} }, /^containers\[0\]\.livenessProbe: needs one of httpGet, tcpSocket, exec$/],
      [{ livenessProbe: { tcpSocket: { port: 80 }, exec: { command: ['true'] } } }, /^containers\[0\]\.livenessProbe: give only one of httpGet, tcpSocket, exec \(not tcpSocket and exec\)$/],
      [{ readinessProbe: 'yes' }, /^containers\[0\]\.readinessProbe: must be an object, not "yes"$/],
      [{ readinessProbe: { httpGet: { port: 0 } } }, /^containers\[0\]\.readinessProbe\.httpGet\.port: must be an integer from 1 to 65535, not 0$/],
      [{ readinessProbe: { httpGet: { port: 80, path: 'healthz' } } }, /^containers\[0\]\.readinessProbe\.httpGet\.path: must be a URL path/],
      [{ readinessProbe: { httpGet: { port: 80, scheme: 'FTP' } } }, /^containers\[0\]\.readinessProbe\.httpGet\.scheme: must be HTTP or HTTPS \(in capitals/],
      // Written as Kubernetes writes it: "https" is refused, as the published schema says.
      [{ readinessProbe: { httpGet: { port: 80, scheme: 'https' } } }, /^containers\[0\]\.readinessProbe\.httpGet\.scheme: must be HTTP or HTTPS \(in capitals/],
      [{ startupProbe: { tcpSocket: {} } }, /^containers\[0\]\.startupProbe\.tcpSocket\.port: required$/],
      [{ startupProbe: { exec: { command: [] } } }, /^containers\[0\]\.startupProbe\.exec\.command: required/],
      [{ startupProbe: { exec: { command: [1] } } }, /^containers\[0\]\.startupProbe\.exec\.command\[0\]: must be a string$/],
      [{ livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 0 } }, /^containers\[0\]\.livenessProbe\.periodSeconds: must be an integer from 1 to 300, not 0$/],
      [{ livenessProbe: { tcpSocket: { port: 80 }, timeoutSeconds: 61 } }, /^containers\[0\]\.livenessProbe\.timeoutSeconds: must be an integer from 1 to 60, not 61$/],
      [{ livenessProbe: { tcpSocket: { port: 80 }, initialDelaySeconds: 3601 } }, /^containers\[0\]\.livenessProbe\.initialDelaySeconds: must be an integer from 0 to 3600/],
      [{ livenessProbe: { tcpSocket: { port: 80 }, failureThreshold: 1.5 } }, /^containers\[0\]\.livenessProbe\.failureThreshold: must be an integer from 1 to 100, not 1\.5$/],
      [{ livenessProbe: { tcpSocket: { port: 80 }, successThreshold: 2 } }, /^containers\[0\]\.livenessProbe\.successThreshold: must be 1 for a livenessProbe/],
      [{ startupProbe: { tcpSocket: { port: 80 }, successThreshold: 3 } }, /^containers\[0\]\.startupProbe\.successThreshold: must be 1 for a startupProbe/],
      [{ readinessProbe: { tcpSocket: { port: 80 }, successThreshold: 11 } }, /^containers\[0\]\.readinessProbe\.successThreshold: must be an integer from 1 to 10, not 11$/],
    ];
    for (const [container, message] of cases) {
      assert.match(refusal(seed(container)), message, JSON.stringify(container));
      assert.match(refusal(client(container), parseClientDeploy), message, `clients' body: ${JSON.stringify(container)}`);
    }
  });

  it('GET /k8s/deployment/info shows the probes back, so a client that posts it again keeps them', () => {
    const spec = parseClientDeploy(client({ readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 2 } }), ctx);
    const info = deploymentInfoView(spec, { serviceStatus: 'ServiceRunning' } as OrderRecord) as { containers: Array<Record<string, unknown>> };
    assert.deepEqual(info.containers[0]!.readinessProbe, { tcpSocket: { port: 80 }, periodSeconds: 2 });
    assert.deepEqual(parseClientDeploy(info, ctx).containers[0]!.probes, spec.containers[0]!.probes);
  });

  it('a VKubefile passes its deploy section’s probes to the clients’ body', () => {
    const text = ['containers:', '  - imageName: nginx', '    deploy:', '      containerName: web', '      livenessProbe:', '        httpGet: {path: /healthz, port: 80}', '        periodSeconds: 5'].join('\n');
    const plan = parseDeployFile(text, { name: 'VKubefile.yaml', readRelative: () => '' });
    assert.equal(plan.kind, 'clients');
    assert.deepEqual(plan.notes, [], 'not reported as unknown fields');
    assert.deepEqual((plan.body.containers[0] as Record<string, unknown>).livenessProbe, { httpGet: { path: '/healthz', port: 80 }, periodSeconds: 5 });
    assert.throws(() => parseDeployFile(text.replace('      livenessProbe:\n        httpGet: {path: /healthz, port: 80}\n        periodSeconds: 5', '      livenessProbe: yes'), { name: 'VKubefile.yaml', readRelative: () => '' }), /deploy\.livenessProbe: must be an object/);
  });
});
