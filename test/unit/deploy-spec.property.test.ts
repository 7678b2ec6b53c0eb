/**
 * Property tests of the deploy validator and the host-port allocator: for thousands of
 * random bodies, no exception but a field-naming InputError, and every accepted body
 * yields a workload that satisfies the rules (memory within the units, unique names,
 * no reserved or duplicated host port, one replica, Recreate, the region's selector).
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { type DeployContext, type DeploySpec, isReserved, parseClientDeploy, parseSeedDeploy } from '../../src/domain/deploy-spec.js';
import { InputError } from '../../src/kernel/errors.js';
import { workloadManifests } from '../../src/domain/manifests.js';
import { PortService, RANDOM_PORT_RANGE } from '../../src/domain/ports.js';
import { parseBytes } from '../../src/kernel/quantity.js';
import { parseReference } from '../../src/registry/reference.js';
import { deployBody as body } from '../helpers/deploy-arbitraries.js';

const config = loadConfig({}, '/tmp');
const RUNS = Number(process.env.PROPERTY_RUNS ?? 3000);

function context(units: number, randomPorts: boolean, region = ''): DeployContext {
  return {
    order: { units, region, randomPorts, persistStorage: units % 2 === 0 },
    units: config.units,
    reservedPorts: config.reservedPorts,
    regions: ['ausrine', 'giltine'],
    isValidImage: (ref) => {
      try {
        parseReference(ref);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** The rules every accepted spec and the workload built from it must satisfy. */
function checkAccepted(spec: DeploySpec, ctx: DeployContext): void {
  const order = { id: 'a'.repeat(24), units: ctx.order.units, specGeneration: 1, restartGeneration: 0, description: '', customLabel: '' };
  const objects = workloadManifests({ order, spec, units: config.units, regionLabel: 'region', replicas: 1, persistStorage: ctx.order.persistStorage, storageClass: config.storageClass, domains: [], ingress: config.ingress });
  const deployment = objects.find((o) => o.kind === 'Deployment') as unknown as {
    spec: { replicas: number; strategy: { type: string }; template: { spec: { nodeSelector: Record<string, string>; containers: Array<{ name: string; resources: { limits: { memory: string } }; ports: Array<{ hostPort?: number; protocol: string }> }> } } };
  };
  assert.ok(deployment, 'a Deployment is built');
  assert.equal(deployment.spec.replicas, 1);
  assert.equal(deployment.spec.strategy.type, 'Recreate');
  const pod = deployment.spec.template.spec;
  assert.equal(pod.nodeSelector.region, spec.region);
  assert.ok(ctx.regions.includes(spec.region));
  const names = pod.containers.map((c) => c.name);
  assert.equal(new Set(names).size, names.length, 'unique container names');
  for (const n of names) assert.match(n, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  const memory = pod.containers.reduce((s, c) => s + (parseBytes(c.resources.limits.memory) ?? Infinity), 0);
  assert.ok(memory <= ctx.order.units * config.units.memoryBytes, `memory ${memory} within the units`);
  assert.ok(pod.containers.length <= ctx.order.units * config.units.containers);
  const hostPorts = pod.containers.flatMap((c) => c.ports.filter((p) => p.hostPort !== undefined).map((p) => `${p.hostPort}/${p.protocol}`));
  assert.equal(new Set(hostPorts).size, hostPorts.length, 'no host port twice');
  for (const hp of hostPorts) assert.ok(!isReserved(Number(hp.split('/')[0]), config.reservedPorts), `${hp} is not reserved`);
  for (const o of objects) assert.doesNotThrow(() => JSON.stringify(o));
}

describe('deploy validator (property)', () => {
  for (const [shape, parse] of [
    ['seed', parseSeedDeploy],
    ['clients', parseClientDeploy],
  ] as const) {
    it(`${shape} body: ${RUNS} random bodies, only InputErrors naming a field, every accepted one a valid workload`, () => {
      let accepted = 0;
      fc.assert(
        fc.property(body, fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.constantFrom('', 'giltine'), (b, units, randomPorts, region) => {
          const ctx = context(units, randomPorts, region);
          let spec: DeploySpec;
          try {
            spec = parse(b, ctx);
          } catch (err) {
            assert.ok(err instanceof InputError, `only InputError, got ${String(err)}`);
            // Every mistake is named, each in a bounded message; the error's message lists at most 10.
            assert.ok(err.problems.length > 0);
            for (const p of err.problems) assert.ok(p.message.length > 0 && p.message.length < 400, p.message);
            assert.ok(err.message.length < 11 * 500, `message of ${err.message.length} characters`);
            return;
          }
          accepted++;
          checkAccepted(spec, ctx);
        }),
        { numRuns: RUNS },
      );
      console.log(`${shape} body: ${accepted} of ${RUNS} random bodies accepted, the rest refused with a field-naming InputError`);
      assert.ok(accepted > RUNS / 200, `enough accepted bodies to mean something (${accepted})`);
    });
  }
});

describe('host-port allocator (property)', () => {
  it('never hands out a taken, reserved, duplicated or out-of-range port, and keeps the ports a spec already had', () => {
    const service = new PortService(undefined as never, undefined as never, config);
    const spec = (ports: Array<[number, number?]>): DeploySpec => ({
      region: 'giltine',
      shape: 'client',
      registryLogins: [],
      containers: [{ name: 'c', image: 'nginx', units: 1, memoryBytes: 1, cpuMillis: 1, env: [], configFiles: [], exposedPorts: [], ports: ports.map(([containerPort, hostPort]) => ({ containerPort, protocol: 'TCP', ...(hostPort ? { hostPort } : {}) })) }],
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 6 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { maxLength: 6 }),
        fc.array(fc.integer({ min: RANDOM_PORT_RANGE[0], max: RANDOM_PORT_RANGE[1] }), { maxLength: 200 }),
        (containerPorts, previousPorts, takenList) => {
          const taken = new Set(takenList.map((p) => `${p}/TCP`));
          const previous = previousPorts.length ? spec(previousPorts.map((cp, i) => [cp, RANDOM_PORT_RANGE[0] + 5000 + i])) : null;
          const next = spec(containerPorts.map((cp) => [cp]));
          service.assignRandomPorts(next, previous, taken);
          const got = next.containers[0]!.ports;
          const hosts = got.map((p) => p.hostPort!);
          assert.equal(new Set(hosts).size, hosts.length, 'no duplicates');
          for (const p of got) {
            assert.ok(p.hostPort! >= RANDOM_PORT_RANGE[0] && p.hostPort! <= RANDOM_PORT_RANGE[1], 'in range');
            assert.ok(!isReserved(p.hostPort!, config.reservedPorts), 'not reserved');
            const kept = previous?.containers[0]!.ports.find((q) => q.containerPort === p.containerPort)?.hostPort;
            if (kept !== undefined) assert.equal(p.hostPort, kept, 'a port the spec had is kept');
            else assert.ok(!taken.has(`${p.hostPort}/TCP`), 'a new port is free');
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
