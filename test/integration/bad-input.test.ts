/**
 * Bad input never yields a 5xx or a crash, gets a 400 that names the problem, and
 * writes nothing. Unknown fields are ignored (documented in the README).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestApp, seedDeployBody, startTestApp } from '../helpers/app.js';

let t: TestApp;
let order: { secret: string; id: string };

before(async () => {
  t = await startTestApp();
  order = await t.createOrder({ serviceOptions: { resourceUnit: '2-Unit-Resource' } });
});
after(() => t.close());

function container(overrides: Record<string, unknown>): Record<string, unknown> {
  return { name: 'c1', imageName: 'nginx:1.27', ports: [{ containerPort: 80, hostPort: 4201 }], resource: { memory: '100Mi' }, ...overrides };
}

function deployWith(containers: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { nodeSelector: { region: 'ausrine' }, containers, ...extra };
}

async function expectRefused(payload: unknown, message: RegExp, status = 400, contentType = 'application/json'): Promise<void> {
  const before = await t.services.store.findOrder(order.id);
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/k8s/deploy',
    headers: { secret: order.secret, 'content-type': contentType },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  assert.equal(res.statusCode, status, res.body);
  const body = res.json<{ error: { code: number; message: string } }>();
  assert.equal(body.error.code, status);
  assert.match(body.error.message, message);
  const after = await t.services.store.findOrder(order.id);
  assert.equal(after!.specGeneration, before!.specGeneration, 'nothing was written');
  assert.deepEqual(await t.services.store.leasesOfOrder(order.id), await t.services.store.leasesOfOrder(order.id));
  assert.equal((await t.services.store.leasesOfOrder(order.id)).length, 0, 'no port was leased');
}

describe('deploy refuses bad input with 400 naming the problem, and writes nothing', () => {
  const cases: Array<[string, unknown, RegExp, number?]> = [
    ['malformed JSON', '{"nodeSelector": {"region": "ausrine"', /^body: not valid JSON/],
    ['a JSON array as the body', '[1,2,3]', /^body: must be an object/],
    ['a JSON string as the body', '"deploy please"', /^body: must be an object/],
    ['no containers', deployWith([]), /^containers: at least one container/],
    ['containers as an object', { nodeSelector: { region: 'ausrine' }, containers: { name: 'c1' } }, /^containers: must be a list of \{"name": "web", "imageName": "nginx:1.27", …\}, not \{"name":"c1"\}$/],
    ['no region', { containers: [container({})] }, /^nodeSelector\.region: required/],
    ['an unknown region', deployWith([container({})], { nodeSelector: { region: 'atlantis' } }), /^nodeSelector\.region: unknown region "atlantis"/],
    ['a port sent as a string', deployWith([container({ ports: [{ containerPort: '80', hostPort: 4201 }] })]), /^containers\[0\]\.ports\[0\]\.containerPort: must be an integer from 1 to 65535/],
    ['a host port sent as a string', deployWith([container({ ports: [{ containerPort: 80, hostPort: '4201' }] })]), /^containers\[0\]\.ports\[0\]\.hostPort: must be an integer/],
    ['a negative port', deployWith([container({ ports: [{ containerPort: -80 }] })]), /^containers\[0\]\.ports\[0\]\.containerPort: must be an integer from 1 to 65535, not -80/],
    ['a fractional port', deployWith([container({ ports: [{ containerPort: 80, hostPort: 4201.5 }] })]), /^containers\[0\]\.ports\[0\]\.hostPort: must be an integer/],
    ['a port above 65535', deployWith([container({ ports: [{ containerPort: 70000 }] })]), /^containers\[0\]\.ports\[0\]\.containerPort: .*not 70000/],
    ['a bad protocol', deployWith([container({ ports: [{ containerPort: 80, protocol: 'SCTP' }] })]), /^containers\[0\]\.ports\[0\]\.protocol: must be TCP or UDP/],
    ['duplicated container names', deployWith([container({}), container({ ports: [] })]), /^containers\[1\]\.name: "c1" is used by two containers/],
    ['a container name that is not a DNS label', deployWith([container({ name: 'My_Container' })]), /^containers\[0\]\.name: "My_Container" is not a valid name: use lowercase letters, digits and "-"/],
    ['a missing image', deployWith([container({ imageName: undefined })]), /^containers\[0\]\.imageName: required/],
    ['a malformed image', deployWith([container({ imageName: 'Nginx:::latest' })]), /^containers\[0\]\.imageName: "Nginx:::latest" is not a valid image reference/],
    ['a missing memory', deployWith([container({ resource: {} })]), /^containers\[0\]\.resource\.memory: required/],
    ['a memory that is not a quantity', deployWith([container({ resource: { memory: 'lots' } })]), /^containers\[0\]\.resource\.memory: "lots" is not a memory quantity/],
    ['memory as a number', deployWith([container({ resource: { memory: 100 } })]), /^containers\[0\]\.resource\.memory: must be a string/],
    ['the same host port twice', deployWith([container({ ports: [{ containerPort: 80, hostPort: 4201 }, { containerPort: 81, hostPort: 4201 }] })]), /^containers\[0\]\.ports\[1\]\.hostPort: 4201\/TCP is already used/],
    ['the same container port twice', deployWith([container({ ports: [{ containerPort: 80 }, { containerPort: 80 }] })]), /^containers\[0\]\.ports\[1\]\.containerPort: 80\/TCP is already used/],
    ['a command that is neither string nor array', deployWith([container({ command: { run: 'x' } })]), /^containers\[0\]\.command: must be a newline-separated string or an array/],
    ['an args array with a number', deployWith([container({ args: ['--x', 1] })]), /^containers\[0\]\.args\[1\]: must be a string/],
    ['more containers than units allow', deployWith([container({}), container({ name: 'c2', ports: [] }), container({ name: 'c3', ports: [] })]), /^containers: 3 containers, but the order's 2 unit\(s\) allow 2/],
    ['more host ports than units allow', deployWith([container({ ports: [{ containerPort: 80, hostPort: 4201 }, { containerPort: 81, hostPort: 4202 }, { containerPort: 82, hostPort: 4203 }] })]), /^containers\[\]\.ports: 3 host ports, but the order's 2 unit\(s\) allow 2/],
    ['a probe without a handler', deployWith([container({ livenessProbe: { periodSeconds: 5 } })]), /^containers\[0\]\.livenessProbe: needs one of httpGet, tcpSocket, exec$/],
    ['a probe with two handlers', deployWith([container({ readinessProbe: { httpGet: { port: 80 }, tcpSocket: { port: 80 } } })]), /^containers\[0\]\.readinessProbe: give only one of httpGet, tcpSocket, exec/],
    ['a probe port sent as a string', deployWith([container({ readinessProbe: { httpGet: { path: '/healthz', port: '80' } } })]), /^containers\[0\]\.readinessProbe\.httpGet\.port: must be an integer from 1 to 65535/],
    ['a probe path without a leading slash', deployWith([container({ readinessProbe: { httpGet: { path: 'healthz', port: 80 } } })]), /^containers\[0\]\.readinessProbe\.httpGet\.path: must be a URL path/],
    ['an exec probe without a command', deployWith([container({ startupProbe: { exec: { command: [] } } })]), /^containers\[0\]\.startupProbe\.exec\.command: required/],
    ['a probe period of 0 s', deployWith([container({ livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 0 } })]), /^containers\[0\]\.livenessProbe\.periodSeconds: must be an integer from 1 to 300, not 0$/],
    ['a probe timeout above its bound', deployWith([container({ livenessProbe: { tcpSocket: { port: 80 }, timeoutSeconds: 600 } })]), /^containers\[0\]\.livenessProbe\.timeoutSeconds: must be an integer from 1 to 60, not 600$/],
    ['a liveness probe asking for 2 successes', deployWith([container({ livenessProbe: { tcpSocket: { port: 80 }, successThreshold: 2 } })]), /^containers\[0\]\.livenessProbe\.successThreshold: must be 1 for a livenessProbe/],
  ];
  for (const [what, payload, message, status] of cases) {
    it(what, () => expectRefused(payload, message, status));
  }

  it("the clients' body names the bad probe field the same way", async () => {
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deployment', {
      containers: [{ name: 'c1', imageName: 'nginx:1.27', resourceUnit: 1, livenessProbe: { httpGet: { path: '/', port: 80 }, failureThreshold: 1000 } }],
    });
    assert.equal(res.statusCode, 400, res.body);
    assert.deepEqual(res.json(), { error: { code: 400, message: 'containers[0].livenessProbe.failureThreshold: must be an integer from 1 to 100, not 1000' } });
  });

  it('every mistake of a body is named in one answer, the first one first', async () => {
    const body = deployWith([
      container({ name: 'Web', ports: [80] }),
      container({ name: 'db', imageName: undefined, ports: [], resource: { memory: 'lots' }, env: [{ value: 'x' }] }),
    ]);
    await expectRefused(
      body,
      /^containers\[0\]\.name: "Web" is not a valid name.*; containers\[0\]\.ports\[0\]: must be an object such as \{"containerPort": 80, "hostPort": 8080\}, not 80; containers\[1\]\.imageName: required; containers\[1\]\.env\[0\]\.name: required; containers\[1\]\.resource\.memory: "lots" is not a memory quantity/,
    );
  });

  it('POST /k8s/deploy/validate answers every problem with its field, and changes nothing', async () => {
    const before = await t.services.store.findOrder(order.id);
    const tenant = t.tenant(order.secret);
    const bad = await tenant.post('/api/v1/k8s/deploy/validate', deployWith([container({ name: 'Web', ports: [{ containerPort: 80, hostPort: 22 }] })], { nodeSelector: { region: 'atlantis' } }));
    assert.equal(bad.statusCode, 200, bad.body);
    assert.deepEqual(bad.json<{ valid: boolean; problems: Array<{ field: string }> }>().problems.map((p) => p.field), [
      'nodeSelector.region',
      'containers[0].name',
      'containers[0].ports[0].hostPort',
    ]);
    assert.equal(bad.json<{ valid: boolean }>().valid, false);
    const good = await tenant.post('/api/v1/k8s/deploy/validate', deployWith([container({})]));
    assert.deepEqual(good.json(), { valid: true, problems: [] });
    // A host port another order holds is a problem of that field.
    const other = await t.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource' } });
    assert.equal((await t.tenant(other.secret).post('/api/v1/k8s/deploy', seedDeployBody(4250))).statusCode, 200);
    const taken = await tenant.post('/api/v1/k8s/deploy/validate', deployWith([container({ ports: [{ containerPort: 80, hostPort: 4250 }] })]));
    assert.deepEqual(taken.json(), { valid: false, problems: [{ field: 'containers[0].ports[0].hostPort', message: 'host port 4250 is already taken in region ausrine', conflict: true }] });
    // The clients' shape has its own route, with the same rules.
    const clients = await tenant.post('/api/v1/k8s/deployment/validate', { containers: [{ name: 'c1', imageName: 'nginx', resourceUnit: 9, envs: 'A=1' }] });
    assert.deepEqual(clients.json<{ problems: Array<{ field: string }> }>().problems.map((p) => p.field), ['containers[0].envs', 'containers[0].resourceUnit']);
    const after = await t.services.store.findOrder(order.id);
    assert.equal(after!.specGeneration, before!.specGeneration, 'nothing was written');
    assert.equal((await tenant.post('/api/v1/k8s/deploy/validate', deployWith([]), { secret: 'nope' })).statusCode, 401);
  });

  it('a huge body gets 413', async () => {
    const huge = deployWith([container({ args: 'x'.repeat(2 * 1024 * 1024) })]);
    await expectRefused(huge, /^body: too large/, 413);
  });

  it('a body sent without a JSON content type is still read as JSON', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/k8s/checkports',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: '{"region":"atlantis","ports":[80]}',
    });
    assert.deepEqual(res.json(), { occupied: [], status: 'NoResource' });
  });

  it('unknown fields are ignored', async () => {
    const res = await t.tenant(order.secret).post('/api/v1/k8s/deploy', { ...seedDeployBody(4204), shinyNewField: true, nodeSelector: { region: 'ausrine', zone: 'a' } });
    assert.equal(res.statusCode, 200, res.body);
  });

  it('an unknown route answers 404 in the envelope', async () => {
    const res = await t.app.inject('/api/v1/k8s/nothing-here');
    assert.equal(res.statusCode, 404);
    assert.equal(res.json<{ error: { code: number } }>().error.code, 404);
  });

  it('a wrong method answers in the envelope', async () => {
    const res = await t.app.inject({ method: 'DELETE', url: '/api/v1/k8s/regions' });
    assert.ok(res.statusCode === 404 || res.statusCode === 405);
    assert.ok(res.json<{ error: { code: number } }>().error.code >= 400);
  });
});

describe('random bodies through HTTP (property)', () => {
  it('1,000 random deploy bodies on both deploy routes: never a 5xx, always JSON, errors in the envelope', { timeout: 300_000 }, async () => {
    const fc = (await import('fast-check')).default;
    const { deployBody } = await import('../helpers/deploy-arbitraries.js');
    const fuzz = await t.createOrder({ serviceOptions: { resourceUnit: '3-Unit-Resource', region: 'giltine' } });
    assert.equal((await t.tenant(fuzz.secret).post('/api/v1/k8s/deploy', seedDeployBody(4299, '64Mi', 'giltine'))).statusCode, 200, 'deployed once, so updates reach validation');
    const statuses = new Map<number, number>();
    for (const [i, b] of fc.sample(fc.oneof(deployBody, fc.jsonValue(), fc.string()), 1000).entries()) {
      const url = i % 2 ? '/api/v1/k8s/deploy' : '/api/v1/k8s/deployment/update';
      const res = await t.app.inject({ method: 'POST', url, headers: { secret: fuzz.secret, 'content-type': 'application/json' }, payload: JSON.stringify(b) });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      assert.ok(res.statusCode < 500, `${res.statusCode} for ${JSON.stringify(b).slice(0, 300)}: ${res.body}`);
      const json = res.json<{ error?: { code: number; message: string } }>();
      if (res.statusCode >= 400) assert.equal(json.error?.code, res.statusCode);
    }
    assert.ok((statuses.get(400) ?? 0) > 800, `mostly refused as bad input: ${JSON.stringify([...statuses])}`);
  });
});
