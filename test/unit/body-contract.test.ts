/**
 * The published schema as the validator of bodies: its refusals become the API's
 * FieldProblems, one per field, named as the domain names them.
 */
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { type DeployContext, parseClientDeploy, parseSeedDeploy } from '../../src/domain/deploy-spec.js';
import { InputError } from '../../src/kernel/errors.js';
import { schemaProblems } from '../../src/http/body-contract.js';
import { parseReference } from '../../src/registry/reference.js';
import { deployBody } from '../helpers/deploy-arbitraries.js';
import { ClientDeployBody, ImagesBody, NewOrderBody, SeedDeployBody } from '../../src/http/body-schemas.js';

type Schema = Parameters<typeof schemaProblems>[0];
const seed = SeedDeployBody as unknown as Schema;
const body = (container: Record<string, unknown>) => ({ containers: [{ name: 'web', imageName: 'nginx', resource: { memory: '100Mi' }, ...container }] });

describe('schemaProblems', () => {
  it('accepts what the contract accepts: nulls, hostPort 0, protocol "", a 63-character name', () => {
    assert.deepEqual(schemaProblems(seed, body({ name: 'a'.repeat(63), ports: [{ containerPort: 80, hostPort: 0, protocol: '' }, { containerPort: 53, hostPort: null, protocol: 'UDP' }], envs: null, args: null })), []);
    assert.deepEqual(schemaProblems(ClientDeployBody as unknown as Schema, { containers: [{ name: 'c1', imageName: 'nginx', ports: null, command: ['a'], pvtLogin: null }] }), []);
  });

  it('names each refused field as the domain does, with the bound it breaks', () => {
    assert.deepEqual(schemaProblems(seed, body({ name: 'a'.repeat(64), ports: [{ containerPort: 0, protocol: 'udp' }] })), [
      { field: 'containers[0].name', message: 'must be at most 63 characters long' },
      { field: 'containers[0].ports[0].containerPort', message: 'must be an integer from 1 to 65535, not 0' },
      { field: 'containers[0].ports[0].protocol', message: 'must be "TCP" or "UDP" or "" or null, not "udp"' },
    ]);
  });

  it('inside a union, the branch that took the value says what is wrong', () => {
    // args: string | string[] | null; probe: Probe | null (a $ref)
    assert.deepEqual(schemaProblems(seed, body({ args: ['--x', 1], livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 0 } })), [
      { field: 'containers[0].args[1]', message: 'must be a string, not 1' },
      { field: 'containers[0].livenessProbe.periodSeconds', message: 'must be an integer from 1 to 300, not 0' },
    ]);
    assert.deepEqual(schemaProblems(seed, body({ command: { run: 'x' } })), [{ field: 'containers[0].command', message: 'must be a string or a list or null, not {"run":"x"}' }]);
  });

  it('names a refused key of a map as its entry, a missing field as required, the whole body as body', () => {
    assert.deepEqual(schemaProblems(seed, body({ configMap: { 'etc/x': 'a', '/ok': 1 } })).map((p) => p.field), ['containers[0].configMap["etc/x"]', 'containers[0].configMap["/ok"]']);
    assert.deepEqual(schemaProblems(NewOrderBody as unknown as Schema, {}), [{ field: 'duration', message: 'required' }]);
    assert.deepEqual(schemaProblems(ImagesBody as unknown as Schema, { image: 'nginx' }), [{ field: 'body', message: 'must be a list, not {"image":"nginx"}' }]);
  });

  it('reads an empty body as the empty object where an object is expected', () => {
    assert.deepEqual(schemaProblems(NewOrderBody as unknown as Schema, undefined), [{ field: 'duration', message: 'required' }]);
  });
});

describe('the schema never refuses a deploy body the domain takes (property)', () => {
  const config = loadConfig({}, '/tmp');
  const context = (randomPorts: boolean, persistStorage: boolean): DeployContext => ({
    order: { units: 3, region: '', randomPorts, persistStorage },
    units: config.units,
    reservedPorts: config.reservedPorts,
    regions: ['ausrine', 'giltine'],
    defaultRegion: () => 'ausrine',
    isValidImage: (ref) => {
      try {
        parseReference(ref);
        return true;
      } catch {
        return false;
      }
    },
  });
  const runs = Number(process.env.PROPERTY_RUNS ?? 3000);

  for (const [shape, parse, schema] of [
    ['seed', parseSeedDeploy, SeedDeployBody],
    ['clients', parseClientDeploy, ClientDeployBody],
  ] as const) {
    it(`${shape} body: every body the domain accepts, the published schema accepts (the gate in front of it refuses nothing more)`, () => {
      let accepted = 0;
      fc.assert(
        fc.property(deployBody, fc.boolean(), fc.boolean(), (raw, randomPorts, persist) => {
          const wire: unknown = JSON.parse(JSON.stringify(raw) ?? 'null');
          try {
            parse(wire, context(randomPorts, persist));
          } catch (err) {
            if (err instanceof InputError) return;
            throw err;
          }
          accepted++;
          assert.deepEqual(schemaProblems(schema as unknown as Schema, wire), [], JSON.stringify(wire).slice(0, 500));
        }),
        { numRuns: runs },
      );
      // The arbitrary errs in some field of most bodies (it is made to exercise refusals): about 1.5% pass whole.
      assert.ok(accepted >= runs / 200, `enough bodies were accepted to say something: ${accepted} of ${runs}`);
    });
  }
});
