/**
 * Real image registries for tests: Debian's `docker-registry` (docker distribution
 * 2.8) on a free loopback port, its storage in a temporary directory, with no auth,
 * Basic auth (htpasswd), or Bearer tokens from a token server running in the test
 * process. Images are pushed through the registry's own HTTP API, the way `docker
 * push` does it, so what a test checks is what a registry really serves.
 *
 * Also here: the odd servers registry tests need (a counting proxy, a server that
 * never answers, a port nobody listens on, listeners on other loopback addresses that
 * count connections or answer as a test scripts them).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID, sign, X509Certificate } from 'node:crypto';
import { closeSync, openSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freeLoopbackPort } from '../free-port.js';
import { spawnWatchdog } from '../watchdog.js';
import { buildImage, type Descriptor, OCI_INDEX, OCI_MANIFEST, pushBuiltImage, RegistryApi } from './oci-image.js';

const REGISTRY_BINARY = '/usr/bin/docker-registry';
const REGISTRY_SERVICE = 'vkube-test-registry';
const TOKEN_ISSUER = 'vkube-test-token-server';
const TOKEN_LIFETIME_SECONDS = 300;
const STARTUP_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;


const execFileAsync = promisify(execFile);
const INSTALL_HINT = 'run scripts/install-system-deps.sh (Debian packages docker-registry, apache2-utils, openssl)';

/** Runs a helper tool, and says how to get it when it is missing. */
async function runTool(tool: string, args: string[]): Promise<string> {
  try {
    return (await execFileAsync(tool, args)).stdout;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`${tool} is not installed: ${INSTALL_HINT}`);
    throw err;
  }
}

export type RegistryAuth = 'none' | 'basic' | 'token';

export interface StartRegistryOptions {
  auth?: RegistryAuth;
  /** Accounts that may pull and push (Basic and token auth). */
  users?: Record<string, string>;
}

export interface PushOptions {
  /** Push a multi-arch OCI image index (linux/amd64 and linux/arm64) under the tag. */
  index?: boolean;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`: what goes before the repository in an image reference. */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  auth: RegistryAuth;
  /** The registry's log (access log included). */
  logFile: string;
  /** Requests the token server has answered so far, the helper's own pushes included (0 unless auth is `token`). */
  tokenRequests(): number;
  pushImage(repository: string, tag: string, opts?: PushOptions): Promise<{ digest: string }>;
  /** Kills the registry (and token server) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** Registries alive in this process, killed on exit if a test forgot `stop()`. */
const running = new Set<{ child: ChildProcess; watchdog: ChildProcess; dir: string }>();
let exitHookInstalled = false;

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = opts.auth ?? 'none';
  const dir = await mkdtemp(join(tmpdir(), 'vkube-registry-'));
  // The helper pushes as its own account, so tests may define whichever users they like.
  const pusher = { username: 'vkube-test-pusher', password: randomBytes(12).toString('hex') };
  const users = { ...opts.users, [pusher.username]: pusher.password };
  let tokenServer: TokenServer | undefined;
  let child: ChildProcess | undefined;

  try {
    let authConfig: Record<string, unknown> | undefined;
    if (auth === 'basic') {
      const htpasswd = join(dir, 'htpasswd');
      await writeFile(htpasswd, await htpasswdLines(users), { mode: 0o600 });
      authConfig = { htpasswd: { realm: REGISTRY_SERVICE, path: htpasswd } };
    } else if (auth === 'token') {
      tokenServer = await startTokenServer(dir, users);
      authConfig = {
        token: { realm: `${tokenServer.url}/token`, service: REGISTRY_SERVICE, issuer: TOKEN_ISSUER, rootcertbundle: tokenServer.certFile },
      };
    }

    const logFile = join(dir, 'registry.log');
    const started = await launchRegistry(dir, logFile, authConfig);
    child = started.child;
    const { port } = started;
    const url = `http://127.0.0.1:${port}`;
    const pushAuth = (repository: string) => pushAuthorization(auth, pusher, tokenServer, repository);

    let stopped = false;
    const handle: TestRegistry = {
      host: `127.0.0.1:${port}`,
      url,
      auth,
      logFile,
      tokenRequests: () => tokenServer?.requests ?? 0,
      pushImage: async (repository, tag, pushOpts = {}) => pushImage(url, repository, tag, pushOpts, await pushAuth(repository)),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await cleanUp(child, tokenServer, dir);
      },
    };
    return handle;
  } catch (err) {
    await cleanUp(child, tokenServer, dir);
    throw err;
  }
}

async function cleanUp(child: ChildProcess | undefined, tokenServer: TokenServer | undefined, dir: string): Promise<void> {
  if (child) await killProcess(child);
  if (tokenServer) await closeServer(tokenServer.server);
  await rm(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------
// The registry process

async function launchRegistry(
  dir: string,
  logFile: string,
  authConfig: Record<string, unknown> | undefined,
): Promise<{ child: ChildProcess; port: number }> {
  // A free port can be taken between our probe and the registry's bind: try again then.
  for (let attempt = 1; ; attempt++) {
    const port = await freeLoopbackPort();
    const config = {
      version: '0.1',
      log: { level: 'info', formatter: 'text', accesslog: { disabled: false } },
      storage: { filesystem: { rootdirectory: join(dir, 'storage') }, delete: { enabled: true }, cache: { blobdescriptor: 'inmemory' } },
      http: { addr: `127.0.0.1:${port}`, secret: randomBytes(16).toString('hex') },
      health: { storagedriver: { enabled: false } },
      ...(authConfig ? { auth: authConfig } : {}),
    };
    const configFile = join(dir, 'config.yml');
    // JSON is YAML, and the registry's parser reads it as such.
    await writeFile(configFile, JSON.stringify(config, null, 2));

    const child = spawnLogged(REGISTRY_BINARY, ['serve', configFile], logFile, dir);
    try {
      await waitUntilServing(child, `http://127.0.0.1:${port}/v2/`, logFile);
      return { child, port };
    } catch (err) {
      await killProcess(child);
      const log = await readLogTail(logFile);
      if (attempt < 3 && log.includes('address already in use')) continue;
      throw err;
    }
  }
}

function spawnLogged(binary: string, args: string[], logFile: string, cwd: string): ChildProcess {
  // REGISTRY_* variables override the config file; a developer's shell must not change the test setup.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('REGISTRY_')));
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(binary, args, { cwd, env, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  // Unreferenced: a test that forgets stop() must still let its process end (the
  // exit hook and the watchdog then take the registry down).
  child.unref();
  if (child.pid !== undefined) {
    const watched = { child, watchdog: startWatchdog(child.pid, cwd), dir: cwd };
    running.add(watched);
    child.once('exit', () => {
      running.delete(watched);
      watched.watchdog.kill('SIGKILL');
    });
  }
  installExitHook();
  return child;
}

/**
 * A `sh` that waits on a pipe from this process and, when the pipe closes, kills the
 * registry and removes its directory: the one thing that still happens when the test
 * process is killed by a signal (SIGTERM from a test-runner timeout, SIGKILL), where
 * no exit hook runs.
 */
function startWatchdog(pid: number, dir: string): ChildProcess {
  // Only if that pid is still a registry: pids wrap quickly (pid_max is 32768 on these
  // machines), and a late watchdog must never kill whatever process got the number next.
  const script = '[ "$(cat /proc/$0/comm 2>/dev/null)" = docker-registry ] && kill -KILL "$0" 2>/dev/null; sleep 0.2; rm -rf -- "$1"';
  return spawnWatchdog(script, [String(pid), dir]);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const { child, watchdog, dir } of running) {
      // The watchdog first, so it never signals a pid the system may have reused.
      watchdog.kill('SIGKILL');
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

async function waitUntilServing(child: ChildProcess, probeUrl: string, logFile: string): Promise<void> {
  let spawnError: Error | undefined;
  child.once('error', (err) => {
    spawnError = err;
  });
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (spawnError) throw new Error(`cannot start ${REGISTRY_BINARY}: ${spawnError.message}; ${INSTALL_HINT}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${REGISTRY_BINARY} exited during startup (${child.exitCode ?? child.signalCode}); its log:\n${await readLogTail(logFile)}`);
    }
    try {
      // Any HTTP answer, 401 included, means it is serving.
      const response = await fetch(probeUrl, { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(`${REGISTRY_BINARY} did not answer ${probeUrl} within ${STARTUP_TIMEOUT_MS} ms; its log:\n${await readLogTail(logFile)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function killProcess(child: ChildProcess): Promise<void> {
  // No pid: it never started, and node may never report an exit for it.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  child.ref(); // keep this process alive until the registry is really gone
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

async function readLogTail(logFile: string, maxChars = 4_000): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '(no log written)');
  return text.length > maxChars ? `…${text.slice(-maxChars)}` : text;
}

async function htpasswdLines(users: Record<string, string>): Promise<string> {
  const lines: string[] = [];
  for (const [username, password] of Object.entries(users)) {
    // docker distribution reads bcrypt entries only, hence -B.
    lines.push((await runTool('htpasswd', ['-Bbn', username, password])).trim());
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------
// The token server (Docker's token authentication flow)

interface TokenServer {
  server: Server;
  url: string;
  certFile: string;
  requests: number;
  issue(subject: string, access: ResourceAccess[]): string;
}

interface ResourceAccess {
  type: string;
  name: string;
  actions: string[];
}

async function startTokenServer(dir: string, users: Record<string, string>): Promise<TokenServer> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyFile = join(dir, 'token-key.pem');
  const certFile = join(dir, 'token-cert.pem');
  await writeFile(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  await runTool('openssl', ['req', '-x509', '-new', '-key', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${TOKEN_ISSUER}`]);
  // docker distribution 2.8 finds the signing key through the x5c chain and checks it
  // against the rootcertbundle, which is this very certificate.
  const certDer = new X509Certificate(await readFile(certFile)).raw.toString('base64');

  const tokenServer: TokenServer = {
    server: createServer(),
    url: '',
    certFile,
    requests: 0,
    issue: (subject, access) => signToken(privateKey, certDer, subject, access),
  };
  tokenServer.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    tokenServer.requests++;
    answerTokenRequest(req, res, users, tokenServer.issue);
  });
  const port = await listenOnLoopback(tokenServer.server);
  tokenServer.url = `http://127.0.0.1:${port}`;
  return tokenServer;
}

function answerTokenRequest(
  req: IncomingMessage,
  res: ServerResponse,
  users: Record<string, string>,
  issue: TokenServer['issue'],
): void {
  const url = new URL(req.url ?? '/', 'http://token.invalid');
  if (req.method !== 'GET' || url.pathname !== '/token') return sendJson(res, 404, { errors: [{ code: 'NOT_FOUND' }] });
  if (url.searchParams.get('service') !== REGISTRY_SERVICE) {
    return sendJson(res, 400, { errors: [{ code: 'DENIED', message: `service must be ${REGISTRY_SERVICE}` }] });
  }

  let subject = '';
  const authorization = req.headers.authorization;
  if (authorization !== undefined) {
    const credentials = parseBasic(authorization);
    if (!credentials || !Object.hasOwn(users, credentials.username) || users[credentials.username] !== credentials.password) {
      res.setHeader('WWW-Authenticate', `Basic realm="${TOKEN_ISSUER}"`);
      return sendJson(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] });
    }
    subject = credentials.username;
  }

  // Anonymous callers get a valid token that grants nothing, as public token services do.
  const access = subject === '' ? [] : url.searchParams.getAll('scope').flatMap(grantedAccess);
  const token = issue(subject, access);
  sendJson(res, 200, { token, access_token: token, expires_in: TOKEN_LIFETIME_SECONDS, issued_at: new Date().toISOString() });
}

/** `repository:team/app:pull,push` → what an authenticated user is given of it. */
function grantedAccess(scope: string): ResourceAccess[] {
  const [type, ...rest] = scope.split(':');
  const actions = rest.pop();
  const name = rest.join(':');
  if (type !== 'repository' || !name || actions === undefined) return [];
  const granted = actions.split(',').filter((action) => action === 'pull' || action === 'push');
  return granted.length > 0 ? [{ type, name, actions: granted }] : [];
}

function signToken(privateKey: KeyObject, certDer: string, subject: string, access: ResourceAccess[]): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer] };
  const claims = {
    iss: TOKEN_ISSUER,
    sub: subject,
    aud: REGISTRY_SERVICE,
    exp: now + TOKEN_LIFETIME_SECONDS,
    nbf: now - 1,
    iat: now,
    jti: randomUUID(),
    access,
  };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  // JWS wants ES256 signatures as r‖s, not the DER that OpenSSL produces by default.
  const signature = sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${base64url(signature)}`;
}

function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

function parseBasic(header: string): { username: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

// ---------------------------------------------------------------------------
// Pushing images through the registry API

async function pushAuthorization(
  auth: RegistryAuth,
  pusher: { username: string; password: string },
  tokenServer: TokenServer | undefined,
  repository: string,
): Promise<string | undefined> {
  const basic = `Basic ${Buffer.from(`${pusher.username}:${pusher.password}`).toString('base64')}`;
  if (auth === 'basic') return basic;
  if (auth === 'token' && tokenServer) {
    const url = new URL(`${tokenServer.url}/token`);
    url.searchParams.set('service', REGISTRY_SERVICE);
    url.searchParams.set('scope', `repository:${repository}:pull,push`);
    const response = await fetch(url, { headers: { Authorization: basic } });
    if (response.status !== 200) throw new Error(`token server refused the pusher: HTTP ${response.status}`);
    const { token } = (await response.json()) as { token: string };
    return `Bearer ${token}`;
  }
  return undefined;
}

async function pushImage(
  baseUrl: string,
  repository: string,
  tag: string,
  opts: PushOptions,
  authorization: string | undefined,
): Promise<{ digest: string }> {
  // Unique content per push, so two pushes never share digests by accident.
  const platformImage = (architecture: string) =>
    buildImage([[{ type: 'file', path: 'hello.txt', content: `${repository}:${tag} linux/${architecture} ${randomUUID()}\n` }]], { Cmd: ['/bin/sh'] }, architecture);
  if (!opts.index) return { digest: await pushBuiltImage(baseUrl, repository, tag, platformImage('amd64'), authorization) };
  const manifests: Descriptor[] = [];
  for (const architecture of ['amd64', 'arm64']) {
    const image = platformImage(architecture);
    const digest = await pushBuiltImage(baseUrl, repository, image.digest, image, authorization);
    manifests.push({ mediaType: OCI_MANIFEST, digest, size: image.manifest.length, platform: { architecture, os: 'linux' } });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
  return { digest: await new RegistryApi(baseUrl, repository, authorization).putManifest(tag, OCI_INDEX, index) };
}

// ---------------------------------------------------------------------------
// Other servers registry tests need


export interface CountingProxy {
  /** `127.0.0.1:PORT`, to use as the registry part of a reference. */
  host: string;
  /** Requests forwarded so far, as `METHOD /path`. */
  requests: string[];
  stop(): Promise<void>;
}

/** A plain HTTP proxy in front of `targetUrl` that records every request it forwards. */
export async function startCountingProxy(targetUrl: string): Promise<CountingProxy> {
  const target = new URL(targetUrl);
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  const port = await listenOnLoopback(server);
  return { host: `127.0.0.1:${port}`, requests, stop: () => closeServer(server) };
}

export interface SilentServer {
  host: string;
  /** Connections accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}

/** An HTTP server that accepts every request and never answers: a hung registry. */
export async function startSilentServer(): Promise<SilentServer> {
  let connections = 0;
  const server = createServer(() => {
    // Deliberately no response.
  });
  server.on('connection', () => connections++);
  const port = await listenOnLoopback(server);
  return { host: `127.0.0.1:${port}`, connections: () => connections, stop: () => closeServer(server) };
}

export interface CountingListener {
  /** `127.0.0.2:PORT`. */
  host: string;
  /** TCP connections accepted so far. */
  connections(): number;
  stop(): Promise<void>;
}

/**
 * A plain TCP listener on a loopback `address` (Linux answers on all of 127.0.0.0/8)
 * that counts connections and closes each as soon as the client says anything:
 * whether anything connected is then a number a test can assert. (Closing before the
 * client speaks would race undici, which can miss a close that comes before it has
 * set up the connection, and then waits for its timeout.)
 */
export async function startCountingListener(address: string): Promise<CountingListener> {
  let connections = 0;
  const open = new Set<Socket>();
  const server = createNetServer((socket) => {
    connections++;
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.once('data', () => socket.destroy());
    socket.on('error', () => {});
  });
  const port = await listenOnLoopback(server, address);
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of open) socket.destroy();
    });
  return { host: `${address}:${port}`, connections: () => connections, stop };
}

export interface ScriptedServer {
  /** `127.0.0.2:PORT`. */
  host: string;
  /** `http://127.0.0.2:PORT` */
  url: string;
  /** Requests answered so far, as `METHOD /path`. */
  requests: string[];
  stop(): Promise<void>;
}

/**
 * An HTTP server on a loopback `address` that answers each request with `answer`: a
 * registry that redirects, challenges or serves a manifest, as a test needs it.
 */
export async function startScriptedServer(address: string, answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<ScriptedServer> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    answer(req, res);
  });
  const port = await listenOnLoopback(server, address);
  return { host: `${address}:${port}`, url: `http://${address}:${port}`, requests, stop: () => closeServer(server) };
}

function listenOnLoopback(server: Server | NetServer, address = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host: address }, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive and never-answered connections would otherwise hold close() open.
    server.closeAllConnections();
  });
}
