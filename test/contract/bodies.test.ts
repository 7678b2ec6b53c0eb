/**
 * One contract for request bodies: every body of the corpus (corpus.ts) goes through the
 * schema V-Kube publishes at /openapi.json (validated with Ajv, as a client generated
 * from it would) and through the real server (the real HTTP app on the real cluster,
 * SQLite), and the two must agree:
 * - `accept`: the schema accepts and the server does not refuse it as bad input;
 * - `refuse`: the schema refuses and the server answers 400 naming the field;
 * - `rule`: a rule the schema cannot say (its description names it): the schema
 *   accepts, the server answers 400 naming the field.
 * Every write endpoint of the document with a body must have accepted and refused
 * cases here, and every one without a body must be listed as such: a new endpoint
 * cannot escape the contract.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ValidateFunction } from 'ajv';
import type { LightMyRequestResponse } from 'fastify';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestApp, startTestApp } from '../helpers/app.js';
import { type MarketWallet, marketWallet, pyJsonDumps } from '../helpers/market-wallet.js';
import { type Case, type Fixtures, clientCases, firstDeployCases, otherCases, seedCases } from './corpus.js';

const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

/** Write endpoints without a body: nothing to hold to a schema, but each is named, so a new one must be placed. */
const NO_BODY = new Set([
  'POST /api/v1/k8s/pod/restart',
  'POST /api/v1/k8s/pod/stop',
  'POST /api/v1/k8s/pod/start',
  'DELETE /api/v1/k8s/pod/ingress',
  'POST /api/v1/k8s/tokens/{id}/deactivate',
  'DELETE /api/v1/k8s/tokens/{id}',
  'POST /api/v1/admin/orders/{id}/abort',
  'POST /api/v1/admin/orders/{id}/secret',
  'POST /api/v1/contact/userServiceContact/delete/email',
  'POST /api/v1/contact/addressContact/delete/email',
  'DELETE /api/v1/admin/webhooks/{id}',
]);
const WRITE_METHODS = ['post', 'put', 'patch', 'delete'];

interface Endpoint {
  cases: Case[];
  send(body: unknown): Promise<LightMyRequestResponse>;
  /** The validate routes answer 200 `{valid, problems}` instead of 400. */
  validate?: true;
  /** A status other than 2xx that still means the body was taken (the refusal is about state, not the body). */
  takenWhen?: (res: LightMyRequestResponse) => boolean;
}

let t: TestApp;
let doc: { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: unknown }> } }>> };
let ajv: Ajv2020;
let wallet: MarketWallet;
const orders: Record<'seed' | 'client' | 'pod' | 'plain', { secret: string; id: string }> = {} as never;
const cleanup: Array<() => Promise<unknown>> = [];
let fixtures: Fixtures;
const counts = { endpoints: 0, cases: 0 };

const json = (body: unknown): string => JSON.stringify(body) ?? 'null';

function tenantSend(which: keyof typeof orders, method: string, url: string) {
  return (body: unknown) => t.app.inject({ method: method as 'POST', url, headers: { secret: orders[which].secret, 'content-type': 'application/json' }, payload: json(body) });
}

function endpoints(): Record<string, Endpoint> {
  const admin = (method: string, url: string) => (body: unknown) =>
    t.app.inject({ method: method as 'POST', url, headers: { authorization: 'Bearer test-admin-token-0123456789', 'content-type': 'application/json' }, payload: json(body) });
  const open = (url: string) => (body: unknown) => t.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload: json(body) });
  const signed = (url: string) => (body: unknown) => {
    const { headers, payload } = wallet.sign('POST', url, JSON.parse(json(body)) as Record<string, unknown>);
    return t.app.inject({ method: 'POST', url, headers, payload: payload ?? pyJsonDumps(body) });
  };
  const noMail = (res: LightMyRequestResponse) => res.statusCode === 503 && /sends no e-mail/.test(res.body);
  const noCodePending = (res: LightMyRequestResponse) => res.statusCode === 400 && /^code: no code is pending/.test(message(res));
  return {
    'POST /api/v1/k8s/deploy': { cases: seedCases, send: tenantSend('seed', 'POST', '/api/v1/k8s/deploy') },
    'POST /api/v1/k8s/deploy/validate': { cases: seedCases, send: tenantSend('seed', 'POST', '/api/v1/k8s/deploy/validate'), validate: true },
    'POST /api/v1/k8s/deployment/update': { cases: clientCases, send: tenantSend('client', 'POST', '/api/v1/k8s/deployment/update') },
    'POST /api/v1/k8s/deployment/validate': { cases: clientCases, send: tenantSend('client', 'POST', '/api/v1/k8s/deployment/validate'), validate: true },
    'POST /api/v1/k8s/deployment': {
      cases: firstDeployCases,
      // A first deploy needs an order that has none yet: one per case.
      send: async (body) => {
        const fresh = await t.createOrder({ serviceOptions: { resourceUnit: '2-Unit-Resource' } });
        return t.app.inject({ method: 'POST', url: '/api/v1/k8s/deployment', headers: { secret: fresh.secret, 'content-type': 'application/json' }, payload: json(body) });
      },
    },
    'POST /api/v1/k8s/checkports': { cases: otherCases['POST /api/v1/k8s/checkports']!, send: open('/api/v1/k8s/checkports') },
    'POST /api/v1/k8s/ports/state': { cases: otherCases['POST /api/v1/k8s/ports/state']!, send: open('/api/v1/k8s/ports/state') },
    'POST /api/v1/admin/orders': {
      cases: otherCases['POST /api/v1/admin/orders']!,
      send: async (body) => {
        const res = await admin('POST', '/api/v1/admin/orders')(body);
        if (res.statusCode === 201) cleanup.push(() => t.admin('POST', `/api/v1/admin/orders/${res.json<{ order: { id: string } }>().order.id}/abort`));
        return res;
      },
    },
    'POST /api/v1/admin/orders/{id}/renew': { cases: otherCases['POST /api/v1/admin/orders/{id}/renew']!, send: (body) => admin('POST', `/api/v1/admin/orders/${orders.plain.id}/renew`)(body) },
    'POST /api/v1/admin/webhooks': {
      cases: otherCases['POST /api/v1/admin/webhooks']!,
      send: async (body) => {
        const res = await admin('POST', '/api/v1/admin/webhooks')(body);
        if (res.statusCode === 201) cleanup.push(() => t.admin('DELETE', `/api/v1/admin/webhooks/${res.json<{ id: string }>().id}`));
        return res;
      },
    },
    'POST /api/v1/k8s/tokens': { cases: otherCases['POST /api/v1/k8s/tokens']!, send: tenantSend('plain', 'POST', '/api/v1/k8s/tokens') },
    'POST /api/v1/k8s/deployment/rollback': { cases: otherCases['POST /api/v1/k8s/deployment/rollback']!, send: tenantSend('pod', 'POST', '/api/v1/k8s/deployment/rollback') },
    'PUT /api/v1/k8s/pod/update': { cases: otherCases['PUT /api/v1/k8s/pod/update']!, send: tenantSend('pod', 'PUT', '/api/v1/k8s/pod/update') },
    'PATCH /api/v1/k8s/pod/images': { cases: otherCases['PATCH /api/v1/k8s/pod/images']!, send: tenantSend('pod', 'PATCH', '/api/v1/k8s/pod/images') },
    'POST /api/v1/k8s/pod/ingress': { cases: otherCases['POST /api/v1/k8s/pod/ingress']!, send: tenantSend('pod', 'POST', '/api/v1/k8s/pod/ingress') },
    'PATCH /api/v1/k8s/pod/ingress': { cases: otherCases['PATCH /api/v1/k8s/pod/ingress']!, send: tenantSend('pod', 'PATCH', '/api/v1/k8s/pod/ingress') },
    'POST /api/v1/k8s/deployment/metadata/annotation': { cases: otherCases['POST /api/v1/k8s/deployment/metadata/annotation']!, send: tenantSend('pod', 'POST', '/api/v1/k8s/deployment/metadata/annotation') },
    'POST /api/v1/k8s/deployment/metadata/label': { cases: otherCases['POST /api/v1/k8s/deployment/metadata/label']!, send: tenantSend('pod', 'POST', '/api/v1/k8s/deployment/metadata/label') },
    // Nothing is deployed for this order: a body that passes every check meets "nothing is running" (404).
    'POST /api/v1/k8s/pod/exec': { cases: otherCases['POST /api/v1/k8s/pod/exec']!, send: tenantSend('plain', 'POST', '/api/v1/k8s/pod/exec'), takenWhen: (res) => res.statusCode === 404 },
    // This V-Kube sends no mail (503 once the body is taken); a code is checked against one pending (400 about the code's state, once the body is taken).
    'POST /api/v1/contact/userServiceContact/bind/sendCode': { cases: otherCases['POST /api/v1/contact/userServiceContact/bind/sendCode']!, send: tenantSend('plain', 'POST', '/api/v1/contact/userServiceContact/bind/sendCode'), takenWhen: noMail },
    'POST /api/v1/contact/userServiceContact/bind/verifyCode': { cases: otherCases['POST /api/v1/contact/userServiceContact/bind/verifyCode']!, send: tenantSend('plain', 'POST', '/api/v1/contact/userServiceContact/bind/verifyCode'), takenWhen: noCodePending },
    'POST /api/v1/contact/addressContact/bind/sendCode': { cases: otherCases['POST /api/v1/contact/addressContact/bind/sendCode']!, send: signed('/api/v1/contact/addressContact/bind/sendCode'), takenWhen: noMail },
    'POST /api/v1/contact/addressContact/bind/verifyCode': { cases: otherCases['POST /api/v1/contact/addressContact/bind/verifyCode']!, send: signed('/api/v1/contact/addressContact/bind/verifyCode'), takenWhen: noCodePending },
  };
}

function message(res: LightMyRequestResponse): string {
  try {
    return res.json<{ error?: { message?: string } }>().error?.message ?? '';
  } catch {
    return '';
  }
}

/** The published schema of an operation's JSON body, compiled once. */
const validators = new Map<string, ValidateFunction>();
function publishedSchema(key: string): ValidateFunction {
  let v = validators.get(key);
  if (!v) {
    const [method, path] = key.split(' ') as [string, string];
    const pointer = ['paths', path, method.toLowerCase(), 'requestBody', 'content', 'application/json', 'schema'].map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
    v = ajv.compile({ $ref: `https://vkube.test/openapi.json#/${pointer}` });
    validators.set(key, v);
  }
  return v;
}

before(async () => {
  t = await startTestApp({ env: { VKUBE_WEBHOOK_PRIVATE_TARGETS: '127.0.0.1' } });
  wallet = await marketWallet();
  const res = await t.app.inject('/openapi.json');
  assert.equal(res.statusCode, 200);
  doc = res.json();
  // OpenAPI 3.1's schemas are JSON Schema 2020-12; refs point into the document itself.
  ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema({ ...(doc as object), $id: 'https://vkube.test/openapi.json' });

  const order = async (units: number, region?: string) => t.createOrder({ serviceOptions: { resourceUnit: `${units}-Unit-Resource`, ...(region ? { region } : {}) } });
  orders.seed = await order(4, 'ausrine');
  orders.client = await order(4, 'giltine');
  orders.pod = await order(2, 'giltine');
  orders.plain = await order(1);
  const first = async (which: keyof typeof orders, body: unknown) => {
    const res = await tenantSend(which, 'POST', '/api/v1/k8s/deployment')(body);
    assert.equal(res.statusCode, 200, res.body);
    return res.json<{ generation: number }>().generation;
  };
  await first('client', { containers: [{ name: 'web', imageName: 'nginx:latest', resourceUnit: 1, ports: [{ containerPort: 80, hostPort: 4611 }] }] });
  const generation = await first('pod', {
    containers: [{ name: 'web', imageName: 'nginx:latest', resourceUnit: 1, ports: [{ containerPort: 80, hostPort: 4621 }], configMountPath: '/etc/app/app.conf', config: 'a = 1\n' }],
  });
  let domains = 0;
  fixtures = { generation, domain: () => `shop${++domains}-${orders.pod.id.slice(-6).toLowerCase()}.example.com` };
});

after(async () => {
  for (const undo of cleanup) await undo().catch(() => {});
  await t?.close();
  console.log(`contract: ${counts.endpoints} write endpoints with a body, ${counts.cases} corpus cases`);
});

describe('the published schema and the server agree on every request body', () => {
  it('every write endpoint of /openapi.json is in the corpus (or has no body)', () => {
    const table = endpoints();
    const missing: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (!WRITE_METHODS.includes(method)) continue;
        const key = `${method.toUpperCase()} ${path}`;
        const hasBody = Boolean(op.requestBody?.content?.['application/json']?.schema);
        if (hasBody) {
          const ep = table[key];
          if (!ep) missing.push(`${key}: no corpus`);
          else {
            for (const verdict of ['accept', 'refuse'] as const) if (!ep.cases.some((c) => c.verdict === verdict)) missing.push(`${key}: no ${verdict} case`);
          }
        } else if (!NO_BODY.has(key)) missing.push(`${key}: a write endpoint without a body that NO_BODY does not list`);
      }
    }
    for (const key of Object.keys(table)) {
      const [method, path] = key.split(' ') as [string, string];
      if (!doc.paths[path]?.[method.toLowerCase()]?.requestBody) missing.push(`${key}: in the corpus, but /openapi.json documents no body for it`);
    }
    assert.deepEqual(missing, []);
  });

  for (const [key, ep] of Object.entries(endpoints())) {
    it(key, { timeout: 600_000 }, async () => {
      const disagreements: string[] = [];
      // Sent as JSON: an undefined field is absent on the wire, and so in what the schema is asked.
      for (const k of ep.cases) {
        const body = typeof k.body === 'function' ? (k.body as (f: Fixtures) => unknown)(fixtures) : k.body;
        const wire: unknown = JSON.parse(json(body));
        const schemaAccepts = publishedSchema(key)(wire);
        const res = await ep.send(wire);
        let taken: boolean;
        let said: string;
        if (ep.validate) {
          assert.equal(res.statusCode, 200, `${k.what}: ${res.body}`);
          const answer = res.json<{ valid: boolean; problems: Array<{ field: string; message: string }> }>();
          taken = answer.valid;
          said = answer.problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; ');
        } else if ((res.statusCode >= 200 && res.statusCode < 300) || ep.takenWhen?.(res)) {
          taken = true;
          said = '';
        } else if (res.statusCode === 400) {
          taken = false;
          said = message(res);
        } else {
          disagreements.push(`${k.what}: unexpected ${res.statusCode} ${res.body.slice(0, 300)}`);
          continue;
        }
        const expectSchema = k.verdict !== 'refuse';
        const expectServer = k.verdict === 'accept';
        const where = `${k.what} [${k.verdict}]`;
        if (schemaAccepts !== expectSchema) disagreements.push(`${where}: the published schema ${schemaAccepts ? 'accepts' : `refuses (${JSON.stringify(publishedSchema(key).errors?.slice(0, 2))})`}`);
        if (taken !== expectServer) disagreements.push(`${where}: the server ${taken ? 'accepts' : `refuses: ${said}`}`);
        if (!taken && k.field !== undefined) {
          const named = k.field === '' ? said === 'item field empty' : said.includes(k.field);
          if (!named) disagreements.push(`${where}: the refusal does not name ${k.field || '"item field empty"'}: ${said}`);
        }
        if (schemaAccepts !== taken && k.verdict !== 'rule') disagreements.push(`${where}: schema and server disagree`);
      }
      counts.endpoints++;
      counts.cases += ep.cases.length;
      assert.deepEqual(disagreements, [], `${disagreements.length} of ${ep.cases.length} cases of ${key}`);
    });
  }
});
