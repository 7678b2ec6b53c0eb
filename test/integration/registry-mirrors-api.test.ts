/**
 * VKUBE_REGISTRY_MIRRORS end to end: the setting read by loadConfig, the registry
 * client built from it, and the routes that check images (`GET /k8s/images`, deploy,
 * `PATCH /k8s/pod/images`), on the real local cluster with real loopback registries
 * as the mirrors. Docker Hub, quay.io and ghcr.io are all mirrored to loopback, so
 * no check here leaves the machine.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort } from '../../dev/free-port.js';
import { startRegistry, type TestRegistry } from '../../dev/registry/testing.js';
import { type TestApp, seedDeployOfImage, startTestApp } from '../helpers/app.js';

const USERS = { alice: 'wonder-land-42' };
const b64 = (text: string) => Buffer.from(text).toString('base64');
const imagesUrl = (image: string, tag: string) => `/api/v1/k8s/images?image=${encodeURIComponent(image)}&tag=${encodeURIComponent(tag)}`;
/** A host port of its own, so this file never competes with the other suites for one. */
const HOST_PORT = 4391;

let t: TestApp;
let first: TestRegistry;
let second: TestRegistry;
let secured: TestRegistry;
let deadEndpoints: string[];

before(async () => {
  [first, second, secured] = await Promise.all([startRegistry(), startRegistry(), startRegistry({ auth: 'basic', users: USERS })]);
  await first.pushImage('library/nginx', 'latest');
  await second.pushImage('library/only-second', 'v1');
  await secured.pushImage('team/private', 'v1');
  deadEndpoints = [`http://127.0.0.1:${await freeLoopbackPort()}`, `http://127.0.0.1:${await freeLoopbackPort()}`];
  t = await startTestApp({
    env: {
      VKUBE_REGISTRY_MIRRORS: [
        `docker.io=${first.url}|${second.url}`,
        `quay.io=${deadEndpoints.join('|')}`,
        `ghcr.io=${secured.url}`,
      ].join(','),
    },
  });
});
after(async () => {
  await t?.close();
  await Promise.all([first?.stop(), second?.stop(), secured?.stop()]);
});

describe('GET /k8s/images through mirrors', () => {
  it('the config reached the client: docker.io, quay.io and ghcr.io are mirrored as set', () => {
    assert.deepEqual(t.config.registry.mirrors, { 'docker.io': [first.url, second.url], 'quay.io': deadEndpoints, 'ghcr.io': [secured.url] });
  });

  it('an image only the first mirror has: OK, for the short name and the full one', async () => {
    for (const image of ['nginx', 'library/nginx', 'docker.io/library/nginx']) {
      const res = await t.app.inject(imagesUrl(image, 'latest'));
      assert.equal(res.statusCode, 200, `${image}: ${res.body}`);
      assert.deepEqual(res.json(), { status: 'OK' });
    }
  });

  it('an image only the second mirror has: OK after the first says 404', async () => {
    const res = await t.app.inject(imagesUrl('only-second', 'v1'));
    assert.deepEqual(res.json(), { status: 'OK' }, res.body);
  });

  it('no mirror has it: 404 "image does not exist."', async () => {
    const res = await t.app.inject(imagesUrl('nginx', 'no-such-tag'));
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: { code: 404, message: 'image does not exist.' } });
  });

  it('every mirror unreachable: 502 naming the mirrors, never a 404', async () => {
    const res = await t.app.inject(imagesUrl('quay.io/team/app', 'v1'));
    assert.equal(res.statusCode, 502, res.body);
    const { message } = res.json<{ error: { message: string } }>().error;
    for (const endpoint of deadEndpoints) assert.ok(message.includes(`mirror ${endpoint} of quay.io`), message);
  });

  it('a Basic-auth mirror gets the customer’s credentials: OK with them, 403 with wrong ones, 404 without', async () => {
    const url = imagesUrl('ghcr.io/team/private', 'v1');
    const ok = await t.app.inject({ url, headers: { username: b64('alice'), password: b64(USERS.alice) } });
    assert.deepEqual(ok.json(), { status: 'OK' }, ok.body);
    const refused = await t.app.inject({ url, headers: { username: b64('alice'), password: b64('wrong') } });
    assert.equal(refused.statusCode, 403, refused.body);
    assert.match(refused.json<{ error: { message: string } }>().error.message, new RegExp(`mirror ${secured.url.replaceAll('.', '\\.')} of ghcr\\.io refused`));
    const anonymous = await t.app.inject({ url });
    assert.equal(anonymous.statusCode, 404, anonymous.body);
  });
});

describe('deploy and PATCH /k8s/pod/images check images where the node pulls them', () => {
  let secret: string;
  before(async () => {
    ({ secret } = await t.createOrder({ serviceOptions: { resourceUnit: '2-Unit-Resource', region: 'ausrine' } }));
  });

  const deployOf = (imageName: string) => seedDeployOfImage(imageName, HOST_PORT);

  it('an image no mirror has: 400 naming it, nothing deployed', async () => {
    const res = await t.tenant(secret).post('/api/v1/k8s/deploy', deployOf('nginx:no-such-tag'));
    assert.equal(res.statusCode, 400, res.body);
    assert.match(res.json<{ error: { message: string } }>().error.message, /^containers\[0\]\.imageName: image nginx:no-such-tag does not exist/);
  });

  it('every mirror unreachable: deployed anyway, with a warning naming the mirrors', async () => {
    const res = await t.tenant(secret).post('/api/v1/k8s/deploy', deployOf('quay.io/team/app:v1'));
    assert.equal(res.statusCode, 200, res.body);
    const { warnings } = res.json<{ warnings: string[] }>();
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0]!, new RegExp(`^could not check image quay\\.io/team/app:v1 \\(mirror ${deadEndpoints[0]!.replaceAll('.', '\\.')} of quay\\.io`));
  });

  it('nginx, found at the mirror: deployed without a warning', async () => {
    const res = await t.tenant(secret).post('/api/v1/k8s/deploy', deployOf('nginx'));
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json<{ warnings: string[] }>().warnings, []);
  });

  it('PATCH /k8s/pod/images: checked at the mirrors, with the customer’s login for a Basic-auth mirror', async () => {
    const patch = (payload: unknown) => t.tenant(secret).request('PATCH', '/api/v1/k8s/pod/images', payload);
    const missing = await patch([{ image: 'only-second:no-such-tag' }]);
    assert.equal(missing.statusCode, 400, missing.body);
    assert.match(missing.json<{ error: { message: string } }>().error.message, /does not exist/);

    const refused = await patch([{ image: 'ghcr.io/team/private:v1', login: { username: 'alice', password: 'wrong' } }]);
    assert.equal(refused.statusCode, 400, refused.body);
    assert.match(refused.json<{ error: { message: string } }>().error.message, /^pvtLogin\[0\]: the registry refused the credentials/);

    const ok = await patch([{ image: 'ghcr.io/team/private:v1', login: { username: 'alice', password: USERS.alice } }]);
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(ok.json<{ warnings: string[] }>().warnings, []);
  });
});
