/**
 * The saved login: `config.json` in `$VKUBE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/vkube`,
 * else `~/.config/vkube`. It holds an order's secret, so the directory is 0700 and the
 * file 0600, and a file that others can read is refused rather than used: that secret
 * should be considered leaked, and silently carrying on would hide it.
 *
 * The admin token is never stored here.
 */
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError, ExitCode } from './errors.js';

export interface StoredLogin {
  /** V-Kube's base URL, e.g. https://vkube.example.com */
  server: string;
  /** The order's secret (never the clients' token: that is decoded at login). */
  secret: string;
  orderId?: string;
  /** ISO time of the login. */
  savedAt: string;
}

export type Env = Record<string, string | undefined>;

export function configDir(env: Env = process.env): string {
  if (env.VKUBE_CONFIG_DIR) return env.VKUBE_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'vkube');
  return join(env.HOME || homedir(), '.config', 'vkube');
}

export function configPath(env: Env = process.env): string {
  return join(configDir(env), 'config.json');
}

/** The saved login, or undefined when there is none. Refuses unsafe or broken files. */
export async function readLogin(env: Env = process.env): Promise<StoredLogin | undefined> {
  const path = configPath(env);
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(`cannot read ${path}: ${(err as Error).message}`, ExitCode.auth);
  }
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    throw new CliError(
      `refusing to use ${path}: it is readable by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}), so the secret in it may have leaked. ` +
        `Restrict it with \`chmod 600 ${path}\` (and ask the provider to rotate the secret if others could read it), or run \`vkube login\` again.`,
      ExitCode.auth,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new CliError(`${path} is not valid JSON; run \`vkube login\` again`, ExitCode.auth);
  }
  const login = parsed as Partial<StoredLogin> | null;
  if (!login || typeof login !== 'object' || typeof login.server !== 'string' || typeof login.secret !== 'string' || !login.server || !login.secret) {
    throw new CliError(`${path} holds no usable login; run \`vkube login\` again`, ExitCode.auth);
  }
  return {
    server: login.server,
    secret: login.secret,
    savedAt: typeof login.savedAt === 'string' ? login.savedAt : '',
    ...(typeof login.orderId === 'string' ? { orderId: login.orderId } : {}),
  };
}

/** Writes the login with owner-only permissions; returns the file's path. */
export async function saveLogin(login: StoredLogin, env: Env = process.env): Promise<string> {
  const dir = configDir(env);
  const path = configPath(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // mkdir leaves an existing directory's mode alone; tighten it.
  await chmod(dir, 0o700);
  // Write a private temporary file and rename it, so the secret is never in a file
  // with looser permissions, and a crash never leaves half a config.
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
  return path;
}

/** Forgets the login; false when there was none. */
export async function removeLogin(env: Env = process.env): Promise<boolean> {
  const path = configPath(env);
  try {
    await stat(path);
  } catch {
    return false;
  }
  await rm(path, { force: true });
  return true;
}
