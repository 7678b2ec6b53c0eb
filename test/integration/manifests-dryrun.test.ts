/**
 * Every body the validator accepts becomes objects the real API server accepts: each
 * workload built from random accepted bodies is applied with a server-side dry run
 * (validation and admission run, nothing is stored).
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testKubeClient } from '../../dev/cluster/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { objectPath } from '../../src/cluster/resource-paths.js';
import { loadConfig } from '../../src/config.js';
import { type DeployContext, parseClientDeploy, parseSeedDeploy } from '../../src/domain/deploy-spec.js';
import { namespaceManifest, namespaceOf, workloadManifests } from '../../src/domain/manifests.js';
import { parseReference } from '../../src/registry/reference.js';
import { deployBody } from '../helpers/deploy-arbitraries.js';

const config = loadConfig({}, '/tmp');
const WANTED = Number(process.env.DRYRUN_WORKLOADS ?? 150);
const orderId = `dry${Math.random().toString(16).slice(2, 10)}`.padEnd(24, '0');
let kube: KubeHttp;

before(async () => {
  kube = await KubeHttp.fromKubeConfig(testKubeClient());
  await kube.apply(objectPath('Namespace', namespaceOf(orderId)), namespaceManifest(orderId), 'vkube-test');
});
after(async () => {
  // Cleanup: a namespace the dry runs never created is a 404.
  await kube.delete(objectPath('Namespace', namespaceOf(orderId))).catch(() => {});
  kube.close();
});

describe('accepted deploy bodies make valid Kubernetes objects', () => {
  it(`${WANTED} random accepted workloads pass the API server's validation (dry run)`, { timeout: 300_000 }, async () => {
    const isValidImage = (r: string) => {
      try {
        parseReference(r);
        return true;
      } catch {
        return false;
      }
    };
    let applied = 0;
    let tried = 0;
    while (applied < WANTED && tried < WANTED * 200) {
      for (const [b, units, randomPorts, seed] of fc.sample(fc.tuple(deployBody, fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.boolean()), 200)) {
        tried++;
        const ctx: DeployContext = { order: { units, region: '', randomPorts, persistStorage: units % 2 === 0 }, units: config.units, reservedPorts: config.reservedPorts, regions: ['ausrine', 'giltine'], isValidImage };
        let spec;
        try {
          spec = (seed ? parseSeedDeploy : parseClientDeploy)(b, ctx);
        } catch {
          continue;
        }
        if (randomPorts) for (const [i, p] of spec.containers.flatMap((c) => c.ports).entries()) p.hostPort = 20000 + i;
        const objects = workloadManifests({
          order: { id: orderId, units, specGeneration: applied, restartGeneration: 0, description: 'dry run', customLabel: 'dry-run' },
          spec,
          units: config.units,
          regionLabel: config.regionLabel,
          replicas: 1,
          persistStorage: units % 2 === 0,
          // Half of the claims name a class (one need not exist for the API server to accept the claim).
          storageClass: seed ? 'fast-ssd.example.com' : config.storageClass,
          domains: [{ domain: 'app.example.com', orderId, containerPort: spec.containers[0]!.ports.find((p) => p.protocol === 'TCP')?.containerPort ?? 80, https: true }],
          ingress: config.ingress,
        });
        for (const obj of objects.filter((o) => o.kind !== 'Namespace')) {
          try {
            await kube.apply(objectPath(obj.kind, obj.metadata.name, obj.metadata.namespace), obj, 'vkube-test', { query: { dryRun: 'All' } });
          } catch (err) {
            assert.fail(`the API server refused a ${obj.kind} built from an accepted body: ${(err as Error).message}\nbody: ${JSON.stringify(b).slice(0, 1500)}`);
          }
        }
        if (++applied >= WANTED) break;
      }
    }
    console.log(`dry run: ${applied} accepted workloads (of ${tried} random bodies) all valid`);
    assert.equal(applied, WANTED);
  });
});
