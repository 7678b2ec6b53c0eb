/**
 * Which V-Kube to call and with which secret.
 *
 * A secret can be written two ways: the order's secret itself, or the original
 * clients' *token*, base58 of `"<api host>:<secret>"` (split at the last colon). A token
 * also names the server. Whichever is given, only the plain secret is sent and saved.
 *
 * Precedence, highest first: --secret / --server flags, then VKUBE_SECRET / VKUBE_SERVER,
 * then (for `deploy`) the VKubefile's `vkubeToken`, then the saved login. A saved secret
 * is only ever sent to the server it was saved for, so `--server other` never leaks it.
 */
import bs58 from 'bs58';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { type Env, readLogin } from './config-store.js';
import { CliError, ExitCode, usageError } from './errors.js';

export interface DecodedToken {
  /** The API host as the token names it, e.g. `vkube.example.com` or `127.0.0.1:8080`. */
  host: string;
  secret: string;
}

/** The clients' token's parts, or undefined when `value` is not such a token. */
export function decodeClientToken(value: string): DecodedToken | undefined {
  const text = value.trim();
  if (!text || text.length > 1024) return undefined;
  let decoded: string;
  try {
    decoded = Buffer.from(bs58.decode(text)).toString('utf8');
  } catch {
    return undefined;
  }
  // A plain secret is base58 of random bytes: it decodes to binary, never to printable `host:secret`.
  if (!/^[\x21-\x7e]+$/.test(decoded)) return undefined;
  const colon = decoded.lastIndexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) return undefined;
  return { host: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/** The plain secret inside a secret-or-token, and the server a token names. */
export function interpretSecret(value: string): { secret: string; server?: string } {
  const token = decodeClientToken(value);
  if (!token) return { secret: value.trim() };
  return { secret: token.secret, server: serverFromHost(token.host) };
}

/**
 * A token's host as a URL. Tokens carry no scheme: loopback, private addresses and
 * explicit non-443 ports are taken as http, anything else as https. `--server` overrides.
 */
export function serverFromHost(host: string): string {
  if (/^https?:\/\//i.test(host)) return normalizeServer(host);
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host);
  const name = (m?.[1] ?? host).toLowerCase();
  const port = m?.[2];
  const local =
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === '[::1]' ||
    /^127\./.test(name) ||
    /^10\./.test(name) ||
    /^192\.168\./.test(name) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(name);
  const scheme = local || (port !== undefined && port !== '443') ? 'http' : 'https';
  return normalizeServer(`${scheme}://${host}`);
}

/** A base URL without trailing slash or `/api/v1`; refuses what is not an http(s) URL. */
export function normalizeServer(value: string): string {
  const text = value.trim();
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw usageError(`--server: "${text}" is not a URL (e.g. https://vkube.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`--server: "${text}" must be an http or https URL`);
  if (url.username || url.password) throw usageError('--server: put no credentials in the URL; use --secret');
  return `${url.origin}${url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '')}`;
}

export interface LoginOptions {
  server?: string;
  secret?: string;
}

export interface Login {
  server: string;
  secret: string;
  /** Where the secret came from, for messages. */
  source: 'flag or environment' | 'VKubefile' | 'saved login';
}

/**
 * The login a tenant command uses. `fileToken` is a VKubefile's `vkubeToken`, used when
 * neither a flag nor the environment gives a secret.
 */
export async function resolveLogin(opts: LoginOptions, env: Env = process.env, fileToken?: string): Promise<Login> {
  const flagServer = opts.server ? normalizeServer(opts.server) : undefined;
  const given = opts.secret ? { value: opts.secret, source: 'flag or environment' as const } : fileToken ? { value: fileToken, source: 'VKubefile' as const } : undefined;
  if (given) {
    const { secret, server: tokenServer } = interpretSecret(given.value);
    if (!secret) throw usageError('the secret is empty');
    let server = flagServer ?? tokenServer;
    if (!server) server = (await readLogin(env))?.server;
    if (!server) throw usageError('which V-Kube? Pass --server URL (or set VKUBE_SERVER), or use the token, which names the server');
    return { server, secret, source: given.source };
  }
  const saved = await readLogin(env);
  if (!saved) {
    throw new CliError('not logged in: run `vkube login` (or pass --secret, or set VKUBE_SECRET)', ExitCode.auth);
  }
  if (flagServer && flagServer !== normalizeServer(saved.server)) {
    throw new CliError(`not logged in to ${flagServer} (the saved login is for ${saved.server}); pass --secret, or run \`vkube login --server ${flagServer}\``, ExitCode.auth);
  }
  return { server: normalizeServer(saved.server), secret: saved.secret, source: 'saved login' };
}

/** The server for calls that need no secret (regions, image and port checks, admin). */
export async function resolveServer(opts: LoginOptions, env: Env = process.env): Promise<string> {
  if (opts.server) return normalizeServer(opts.server);
  const fromToken = opts.secret ? interpretSecret(opts.secret).server : undefined;
  if (fromToken) return fromToken;
  const saved = await readLogin(env);
  if (saved) return normalizeServer(saved.server);
  throw usageError('which V-Kube? Pass --server URL, set VKUBE_SERVER, or run `vkube login` first');
}

/**
 * Asks for the secret on the terminal without echoing it; reads one line when stdin is
 * a pipe (`echo $SECRET | vkube login --server …`).
 */
export async function promptSecret(question: string): Promise<string> {
  const input = process.stdin;
  const tty = input.isTTY === true;
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input, output, terminal: tty });
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      let answered = false;
      rl.question(question, (line) => {
        answered = true;
        resolve(line);
      });
      muted = tty;
      rl.once('close', () => {
        if (!answered) reject(usageError('no secret given (stdin ended); pass --secret or --token'));
      });
      // In raw mode Ctrl-C reaches readline, not the process: treat it as "cancel".
      rl.once('SIGINT', () => {
        answered = true;
        reject(usageError('cancelled; nothing was saved'));
      });
    });
    if (tty) process.stderr.write('\n');
    return answer.trim();
  } finally {
    rl.close();
  }
}
