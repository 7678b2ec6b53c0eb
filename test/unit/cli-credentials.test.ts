/**
 * The login: the clients' token decoded, where the server comes from, and the saved
 * config file's permissions (0700 directory, 0600 file, refused when others can read it).
 */
import assert from 'node:assert/strict';
import bs58 from 'bs58';
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configDir, readLogin, removeLogin, saveLogin } from '../../src/cli/config-store.js';
import { decodeClientToken, interpretSecret, normalizeServer, resolveLogin, serverFromHost } from '../../src/cli/credentials.js';
import { CliError, ExitCode } from '../../src/cli/errors.js';

const SECRET = bs58.encode(Buffer.alloc(32, 7));
const token = (host: string) => bs58.encode(Buffer.from(`${host}:${SECRET}`));

describe("the clients' token", () => {
  it('decodes to host and secret, split at the last colon', () => {
    assert.deepEqual(decodeClientToken(token('127.0.0.1:8080')), { host: '127.0.0.1:8080', secret: SECRET });
    assert.deepEqual(interpretSecret(token('vkube.example.com')), { secret: SECRET, server: 'https://vkube.example.com' });
  });

  it('is not mistaken for a plain secret, nor a secret for it', () => {
    assert.equal(decodeClientToken(SECRET), undefined);
    assert.equal(decodeClientToken('not base58 0OIl'), undefined);
    assert.deepEqual(interpretSecret(` ${SECRET} `), { secret: SECRET });
  });

  it('names a server: http for loopback, private addresses and odd ports, https otherwise', () => {
    assert.equal(serverFromHost('127.0.0.1:4000'), 'http://127.0.0.1:4000');
    assert.equal(serverFromHost('localhost'), 'http://localhost');
    assert.equal(serverFromHost('192.168.1.5'), 'http://192.168.1.5');
    assert.equal(serverFromHost('api.example.com:8080'), 'http://api.example.com:8080');
    assert.equal(serverFromHost('api.example.com'), 'https://api.example.com');
    assert.equal(serverFromHost('https://api.example.com/'), 'https://api.example.com');
  });
});

describe('normalizeServer', () => {
  it('takes a base URL with or without scheme, trailing slash or /api/v1', () => {
    assert.equal(normalizeServer('https://v.example.com/'), 'https://v.example.com');
    assert.equal(normalizeServer('https://v.example.com/api/v1'), 'https://v.example.com');
    assert.equal(normalizeServer('localhost:8080'), 'http://localhost:8080');
    assert.throws(() => normalizeServer('ftp://x'), /must be an http or https URL/);
    assert.throws(() => normalizeServer('https://u:p@x'), /no credentials in the URL/);
  });
});

describe('the saved login', () => {
  async function env() {
    const dir = await mkdtemp(join(tmpdir(), 'vkube-cli-config-'));
    return { VKUBE_CONFIG_DIR: join(dir, 'vkube') };
  }

  it('is found in VKUBE_CONFIG_DIR, else XDG_CONFIG_HOME/vkube, else ~/.config/vkube', () => {
    assert.equal(configDir({ VKUBE_CONFIG_DIR: '/a', XDG_CONFIG_HOME: '/b', HOME: '/h' }), '/a');
    assert.equal(configDir({ XDG_CONFIG_HOME: '/b', HOME: '/h' }), '/b/vkube');
    assert.equal(configDir({ HOME: '/h' }), '/h/.config/vkube');
  });

  it('is written owner-only and read back', async () => {
    const e = await env();
    const path = await saveLogin({ server: 'http://127.0.0.1:1', secret: SECRET, orderId: 'o1', savedAt: 'now' }, e);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(e.VKUBE_CONFIG_DIR)).mode & 0o777, 0o700);
    assert.deepEqual(await readLogin(e), { server: 'http://127.0.0.1:1', secret: SECRET, orderId: 'o1', savedAt: 'now' });
    assert.equal(JSON.parse(await readFile(path, 'utf8')).secret, SECRET);
    assert.equal(await removeLogin(e), true);
    assert.equal(await readLogin(e), undefined);
    assert.equal(await removeLogin(e), false);
  });

  it('is refused when group or others can read it, and when it is broken', async () => {
    const e = await env();
    const path = await saveLogin({ server: 'http://x', secret: SECRET, savedAt: 'now' }, e);
    await chmod(path, 0o640);
    await assert.rejects(readLogin(e), (err: unknown) => err instanceof CliError && err.exitCode === ExitCode.auth && /readable by other users \(mode 0640\).*chmod 600/.test(err.message));
    await writeFile(path, '{"server": 1}', { mode: 0o600 });
    await chmod(path, 0o600);
    await assert.rejects(readLogin(e), /holds no usable login/);
  });

  it('is used only for its own server, and flags win over it', async () => {
    const e = await env();
    await saveLogin({ server: 'http://saved:1', secret: SECRET, savedAt: 'now' }, e);
    assert.deepEqual(await resolveLogin({}, e), { server: 'http://saved:1', secret: SECRET, source: 'saved login' });
    await assert.rejects(resolveLogin({ server: 'http://other:2' }, e), /not logged in to http:\/\/other:2/);
    assert.deepEqual(await resolveLogin({ secret: 'flag-secret' }, e), { server: 'http://saved:1', secret: 'flag-secret', source: 'flag or environment' });
    assert.deepEqual(await resolveLogin({}, e, token('127.0.0.1:9')), { server: 'http://127.0.0.1:9', secret: SECRET, source: 'VKubefile' });
    assert.equal(await resolveLogin({}, await env()).catch((err: CliError) => err.exitCode), ExitCode.auth, 'not logged in');
  });
});
