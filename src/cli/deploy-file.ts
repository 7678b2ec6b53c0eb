/**
 * `vkube deploy -f <file>`: what the file is, and the request body it becomes.
 *
 * Three kinds of file are accepted, as JSON or YAML:
 *  - the seed API's deploy body (`nodeSelector`, `containers[].resource.memory`)
 *    → `POST /api/v1/k8s/deploy`;
 *  - the original clients' deploy body (`resourceUnit`, `envs`, `configMap`, …)
 *    → `POST /api/v1/k8s/deployment` (first deploy) or `/deployment/update`;
 *  - the original `vkube` CLI's `VKubefile.yaml` (`vkubeToken`, `containers[].deploy`),
 *    converted to the clients' body, with the configuration files it names read from
 *    disk relative to the VKubefile.
 *
 * V-Kube's deploy-spec validation is the one authority on what may be deployed: the
 * two bodies pass through unchanged, and `vkube deploy` asks V-Kube to check them whole
 * (`POST …/validate`) before anything else, so every mistake is listed in one run. A
 * VKubefile is converted field by field; every field it cannot convert is listed, with
 * its path and the shape expected, before V-Kube is asked.
 *
 * Pure apart from the `readRelative` callback; `loadDeployFile` is the fs-backed entry.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import YAML from 'yaml';
import type { paths } from '../sdk/client.js';
import { CliError, usageError } from './errors.js';

export type SeedDeployBody = paths['/api/v1/k8s/deploy']['post']['requestBody']['content']['application/json'];
export type ClientDeployBody = paths['/api/v1/k8s/deployment']['post']['requestBody']['content']['application/json'];
type ClientContainer = ClientDeployBody['containers'][number];
type Login = NonNullable<ClientDeployBody['pvtLogin']>[number];

/** The seed body as a file may hold it: the region can come from the order or `--region`. */
export type SeedFileBody = Omit<SeedDeployBody, 'nodeSelector'> & { nodeSelector?: SeedDeployBody['nodeSelector'] };

export type DeployPlan =
  | { kind: 'seed'; body: SeedFileBody; notes: string[] }
  | {
      kind: 'clients';
      /** Whether the file was the clients' body itself or a VKubefile converted to it. */
      from: 'clients-body' | 'vkubefile';
      body: ClientDeployBody;
      /** A VKubefile's `vkubeToken` (a secret or the clients' token). */
      vkubeToken?: string;
      notes: string[];
    };

export interface DeployFileSource {
  /** The file's name, for messages. */
  name: string;
  /** Reads a file named relative to the deploy file (VKubefile `configurations`). */
  readRelative(path: string): string;
}

/** Reads and converts a deploy file; errors are usage errors (exit 2) naming file and field. */
export async function loadDeployFile(path: string): Promise<DeployPlan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw usageError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message}`);
  }
  const dir = dirname(resolve(path));
  return parseDeployFile(text, {
    name: path,
    readRelative: (file) => readFileSync(resolve(dir, file), 'utf8'),
  });
}

/**
 * The mistakes found in a file, each with its path. Converting a field throws `fail`
 * (a FieldMistake); `check` notes it and goes on, so one run lists them all.
 */
class Mistakes {
  readonly found: string[] = [];
  check<T>(convert: () => T): T | undefined {
    try {
      return convert();
    } catch (err) {
      if (!(err instanceof FieldMistake)) throw err;
      this.found.push(err.message);
      return undefined;
    }
  }
}

class FieldMistake extends Error {}

/** One usage error listing every mistake of `file`. */
export function mistakesError(file: string, mistakes: string[], what = 'mistake'): CliError {
  if (mistakes.length === 1) return usageError(`${file}: ${mistakes[0]}`);
  return usageError(`${file} has ${mistakes.length} ${what}s; nothing was deployed:\n${mistakes.map((m) => `  ${m}`).join('\n')}`);
}

export function parseDeployFile(text: string, source: DeployFileSource): DeployPlan {
  const fail = (message: string): CliError => usageError(`${source.name}: ${message}`);
  const root = parseDocument(text, source.name, fail);
  const containers = root.containers;
  if (!Array.isArray(containers) || containers.length === 0) {
    throw fail(containers === undefined ? 'containers: required (a list of at least one container)' : 'containers: must be a non-empty list');
  }
  const notObjects = containers.flatMap((c, i) => (isObject(c) ? [] : [`containers[${i}]: must be an object such as {name: web, imageName: nginx:1.27}, not ${JSON.stringify(c)}`]));
  if (notObjects.length) throw mistakesError(source.name, notObjects);
  const list = containers as Array<Record<string, unknown>>;

  if ('vkubeToken' in root || 'imageRegistry' in root || list.some((c) => 'deploy' in c || 'build' in c)) {
    return convertVkubefile(root, list, source);
  }
  const seed = list.some((c) => 'resource' in c);
  const clientOnly = list.findIndex((c) => 'resourceUnit' in c);
  if (seed && clientOnly !== -1) {
    throw fail(`containers[${clientOnly}].resourceUnit: this file mixes the seed body's resource.memory with the clients' resourceUnit; use one of them`);
  }
  if (seed) return { kind: 'seed', body: root as unknown as SeedFileBody, notes: [] };
  return { kind: 'clients', from: 'clients-body', body: root as unknown as ClientDeployBody, notes: [] };
}

function parseDocument(text: string, name: string, fail: (m: string) => CliError): Record<string, unknown> {
  let value: unknown;
  if (extname(name).toLowerCase() === '.json') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw fail(`not valid JSON: ${(err as Error).message}`);
    }
  } else {
    // YAML 1.2 also reads JSON, so files of any other name go through it.
    const doc = YAML.parseDocument(text);
    const error = doc.errors[0];
    // yaml's message ends in "at line L, column C:" followed by the line itself; keep the words and the place.
    if (error) throw fail(`not valid YAML or JSON: ${error.message.split('\n')[0]!.replace(/:\s*$/, '')}`);
    value = doc.toJS();
  }
  if (!isObject(value)) throw fail('must hold an object with a "containers" list');
  return value;
}

function checkPort(value: unknown, at: string, required: boolean): void {
  if (value === undefined || value === null) {
    if (required) throw new FieldMistake(`${at}: required (a port number from 1 to 65535)`);
    return;
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) throw new FieldMistake(`${at}: must be a port number from 1 to 65535, not ${JSON.stringify(value)}`);
}

// ---- VKubefile.yaml ----

const VKUBEFILE_ROOT_KEYS = new Set(['vkubeToken', 'imageRegistry', 'containers']);
const VKUBEFILE_CONTAINER_KEYS = new Set(['imageName', 'tag', 'build', 'deploy']);
const PROBE_KEYS = ['startupProbe', 'readinessProbe', 'livenessProbe'] as const;
/** The original VKubefile's `deploy` fields, and V-Kube's probes beside them. */
const VKUBEFILE_DEPLOY_KEYS = new Set<string>(['containerName', 'resourceUnit', 'command', 'args', 'ports', 'env', 'configurations', 'persistStorage', ...PROBE_KEYS]);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function convertVkubefile(root: Record<string, unknown>, list: Array<Record<string, unknown>>, source: DeployFileSource): DeployPlan {
  const notes: string[] = [];
  const mistakes = new Mistakes();
  const fail = (message: string) => new FieldMistake(message);
  const unknown = (keys: Iterable<string>, allowed: Set<string>, at: string) => {
    for (const k of keys) if (!allowed.has(k)) notes.push(`${at}${at ? '.' : ''}${k}: not a VKubefile field; ignored`);
  };
  unknown(Object.keys(root), VKUBEFILE_ROOT_KEYS, '');

  const vkubeToken = mistakes.check(() => {
    if (root.vkubeToken === undefined || root.vkubeToken === null || root.vkubeToken === '') return undefined;
    if (typeof root.vkubeToken !== 'string') throw fail('vkubeToken: must be a string');
    return root.vkubeToken.trim();
  });
  const registry =
    mistakes.check(() => {
      const value = root.imageRegistry === undefined || root.imageRegistry === null || root.imageRegistry === '' ? 'docker' : root.imageRegistry;
      if (value !== 'docker' && value !== 'ghcr') throw fail(`imageRegistry: must be "docker" or "ghcr", not ${JSON.stringify(value)}`);
      return value;
    }) ?? 'docker';

  const names = new Set<string>();
  const containers = list.map((c, i): ClientContainer => {
    const at = `containers[${i}]`;
    unknown(Object.keys(c), VKUBEFILE_CONTAINER_KEYS, at);
    const image = mistakes.check(() => imageOf(c, registry, at, fail)) ?? '';
    if (c.build !== undefined && c.build !== null && image) {
      notes.push(`${at}.build: building images is not supported by this CLI; deploying ${image} as it is in the registry (build and push it first)`);
    }
    const d = `${at}.deploy`;
    const deploy =
      mistakes.check(() => {
        const value = c.deploy === undefined || c.deploy === null ? {} : c.deploy;
        if (!isObject(value)) throw fail(`${d}: must be an object such as {containerName: web, ports: [{containerPort: 80, hostPort: 8080}]}`);
        return value;
      }) ?? {};
    unknown(Object.keys(deploy), VKUBEFILE_DEPLOY_KEYS, d);

    const name =
      mistakes.check(() => {
        let name: string;
        if (deploy.containerName !== undefined && deploy.containerName !== null && deploy.containerName !== '') {
          if (typeof deploy.containerName !== 'string' || !DNS_LABEL.test(deploy.containerName)) {
            throw fail(`${d}.containerName: must be lowercase letters, digits and "-" (at most 63, e.g. web), not ${JSON.stringify(deploy.containerName)}`);
          }
          name = deploy.containerName;
        } else {
          name = uniqueName(nameFromImage(image) || `container${i + 1}`, names);
        }
        if (names.has(name)) throw fail(`${d}.containerName: "${name}" is used by two containers`);
        names.add(name);
        return name;
      }) ?? `container${i + 1}`;

    const out: ClientContainer = { name, imageName: image };
    mistakes.check(() => {
      if (deploy.resourceUnit === undefined || deploy.resourceUnit === null) return;
      if (typeof deploy.resourceUnit !== 'number' || !Number.isInteger(deploy.resourceUnit) || deploy.resourceUnit < 1) {
        throw fail(`${d}.resourceUnit: must be a whole number of units, at least 1, not ${JSON.stringify(deploy.resourceUnit)}`);
      }
      out.resourceUnit = deploy.resourceUnit;
    });
    const command = mistakes.check(() => argv(deploy.command, `${d}.command`, fail));
    if (command) out.command = command;
    const args = mistakes.check(() => argv(deploy.args, `${d}.args`, fail));
    if (args) out.args = args;

    const { ports, exposed } = vkubefilePorts(deploy.ports, `${d}.ports`, mistakes, fail);
    if (ports.length) out.ports = ports;
    if (exposed.length) out.exposedPorts = exposed;

    const envs = mistakes.check(() => vkubefileEnv(deploy.env, `${d}.env`, fail)) ?? [];
    if (envs.length) out.envs = envs;

    const configMap = mistakes.check(() => configurations(deploy.configurations, `${d}.configurations`, source, fail)) ?? {};
    if (Object.keys(configMap).length) out.configMap = configMap;

    mistakes.check(() => {
      if (deploy.persistStorage === undefined || deploy.persistStorage === null || deploy.persistStorage === '') return;
      if (typeof deploy.persistStorage !== 'string' || !deploy.persistStorage.startsWith('/')) {
        throw fail(`${d}.persistStorage: must be the absolute path to mount the persistent volume at (e.g. /data)`);
      }
      out.mountPath = deploy.persistStorage;
    });
    // Probes go to V-Kube as written: its validation names the bad field (containers[i].livenessProbe.…).
    for (const key of PROBE_KEYS) {
      const probe = deploy[key];
      if (probe === undefined || probe === null) continue;
      if (!isObject(probe)) mistakes.found.push(`${d}.${key}: must be an object such as {httpGet: {path: /healthz, port: 80}}`);
      else out[key] = probe as NonNullable<ClientContainer[typeof key]>;
    }
    return out;
  });
  if (mistakes.found.length) throw mistakesError(source.name, mistakes.found);

  return { kind: 'clients', from: 'vkubefile', body: { containers }, ...(vkubeToken ? { vkubeToken } : {}), notes };
}

/**
 * V-Kube's problems with a converted VKubefile name the clients' body
 * (`containers[0].envs[1].name`); say them in the VKubefile's own terms
 * (`containers[0].deploy.env[1].name`), which is what the customer wrote.
 */
export function vkubefilePath(field: string): string {
  const renames: Array<[RegExp, string]> = [
    [/^(containers\[\d+\])\.name\b/, '$1.deploy.containerName'],
    [/^(containers\[\d+\])\.envs\b/, '$1.deploy.env'],
    [/^(containers\[\d+\])\.mountPath\b/, '$1.deploy.persistStorage'],
    [/^(containers\[\d+\])\.configMap\b/, '$1.deploy.configurations'],
    [/^(containers\[\d+\])\.exposedPorts\b/, '$1.deploy.ports'],
    [/^(containers\[\d*\])\.(resourceUnit|command|args|ports|startupProbe|readinessProbe|livenessProbe)\b/, '$1.deploy.$2'],
  ];
  for (const [from, to] of renames) if (from.test(field)) return field.replace(from, to);
  return field;
}

/** `imageName` + `tag` (default latest), `ghcr.io/` in front for `imageRegistry: ghcr`. */
function imageOf(c: Record<string, unknown>, registry: 'docker' | 'ghcr', at: string, fail: (m: string) => Error): string {
  if (typeof c.imageName !== 'string' || !c.imageName.trim()) throw fail(`${at}.imageName: required (e.g. nginx or myorg/app)`);
  let name = c.imageName.trim();
  const hasTag = /[:@][^/]*$/.test(name);
  let tag: string | undefined;
  if (c.tag !== undefined && c.tag !== null && c.tag !== '') {
    if (typeof c.tag !== 'string' && typeof c.tag !== 'number') throw fail(`${at}.tag: must be a string`);
    tag = String(c.tag);
    if (hasTag) throw fail(`${at}: the image "${name}" already has a tag or digest; give it once (imageName or tag)`);
  }
  if (registry === 'ghcr' && !name.startsWith('ghcr.io/')) name = `ghcr.io/${name}`;
  return hasTag ? name : `${name}:${tag ?? 'latest'}`;
}

/** `ghcr.io/org/My_App:v1` → `my-app`. */
function nameFromImage(image: string): string {
  const last = image.replace(/[:@].*$/, '').split('/').pop() ?? '';
  return last
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
}

function uniqueName(base: string, taken: Set<string>): string {
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base.slice(0, 60)}-${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

function argv(value: unknown, at: string, fail: (m: string) => Error): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) throw fail(`${at}: must be a list of strings`);
  return value.map((v, i) => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw fail(`${at}[${i}]: must be a string`);
  });
}

function vkubefilePorts(
  value: unknown,
  at: string,
  mistakes: Mistakes,
  fail: (m: string) => Error,
): { ports: NonNullable<ClientContainer['ports']>; exposed: NonNullable<ClientContainer['exposedPorts']> } {
  const ports: NonNullable<ClientContainer['ports']> = [];
  const exposed: NonNullable<ClientContainer['exposedPorts']> = [];
  if (value === undefined || value === null) return { ports, exposed };
  if (!Array.isArray(value)) {
    mistakes.found.push(`${at}: must be a list of {containerPort, hostPort, path, rewrite}, e.g. [{containerPort: 80, hostPort: 8080}]`);
    return { ports, exposed };
  }
  value.forEach((raw, j) =>
    mistakes.check(() => {
      const p = `${at}[${j}]`;
      if (!isObject(raw)) throw fail(`${p}: must be an object such as {containerPort: 80, hostPort: 8080}, not ${JSON.stringify(raw)}`);
      checkPort(raw.containerPort, `${p}.containerPort`, true);
      checkPort(raw.hostPort, `${p}.hostPort`, false);
      const containerPort = raw.containerPort as number;
      const port: NonNullable<ClientContainer['ports']>[number] = { containerPort };
      if (typeof raw.hostPort === 'number' && raw.hostPort > 0) port.hostPort = raw.hostPort;
      if (raw.protocol !== undefined && raw.protocol !== null) {
        if (typeof raw.protocol !== 'string' || !/^(tcp|udp)$/i.test(raw.protocol)) throw fail(`${p}.protocol: must be TCP or UDP`);
        port.protocol = raw.protocol.toUpperCase() as 'TCP' | 'UDP';
      }
      // `path` publishes the port over HTTP under that path (the clients' exposedPorts).
      if (raw.path !== undefined && raw.path !== null && raw.path !== '') {
        if (typeof raw.path !== 'string' || !raw.path.startsWith('/')) throw fail(`${p}.path: must be a URL path starting with /`);
        if (raw.rewrite !== undefined && typeof raw.rewrite !== 'boolean') throw fail(`${p}.rewrite: must be true or false`);
        exposed.push({ containerPort, path: raw.path, ...(raw.rewrite !== undefined ? { rewrite: raw.rewrite } : {}) });
      }
      ports.push(port);
    }),
  );
  return { ports, exposed };
}

function vkubefileEnv(value: unknown, at: string, fail: (m: string) => Error): Array<{ name: string; value: string }> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw fail(`${at}: must be a list of {name, value}, e.g. [{name: MODE, value: production}]`);
  return value.map((raw, i) => {
    if (!isObject(raw)) throw fail(`${at}[${i}]: must be an object such as {name: MODE, value: production}, not ${JSON.stringify(raw)}`);
    if (typeof raw.name !== 'string' || !raw.name) throw fail(`${at}[${i}].name: required`);
    const v = raw.value;
    if (v !== undefined && v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw fail(`${at}[${i}].value: must be a string`);
    return { name: raw.name, value: v === undefined || v === null ? '' : String(v) };
  });
}

/** `{<local file>: <mount path>}` → the clients' `configMap` `{<mount path>: <file text>}`. */
function configurations(value: unknown, at: string, source: DeployFileSource, fail: (m: string) => Error): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw fail(`${at}: must map local files to paths in the container, e.g. {./nginx.conf: /etc/nginx/nginx.conf}`);
  const out: Record<string, string> = {};
  for (const [file, mount] of Object.entries(value)) {
    const where = `${at}[${JSON.stringify(file)}]`;
    if (typeof mount !== 'string' || !mount.startsWith('/')) throw fail(`${where}: must be the absolute path of the file in the container`);
    if (mount in out) throw fail(`${where}: two files are mounted at ${mount}`);
    try {
      out[mount] = source.readRelative(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
      throw fail(`${where}: cannot read "${file}" (relative to ${basename(source.name)}'s directory): ${why}`);
    }
  }
  return out;
}

// ---- what the CLI checks before deploying ----

export interface ImageToCheck {
  container: string;
  image: string;
  login?: Login;
}

export function imagesOf(plan: DeployPlan): ImageToCheck[] {
  // The seed body's type has no pvtLogin (V-Kube reads it anyway); only the clients' body carries logins here.
  const logins = plan.kind === 'clients' ? (plan.body.pvtLogin ?? []) : [];
  return plan.body.containers.map((c, i) => {
    const login = logins[i];
    return { container: c.name, image: c.imageName, ...(login && (login.username || login.password) ? { login } : {}) };
  });
}

export interface HostPortUse {
  container: string;
  hostPort: number;
  protocol: string;
}

export function hostPortsOf(plan: DeployPlan): HostPortUse[] {
  return plan.body.containers.flatMap((c) =>
    (c.ports ?? []).filter((p) => typeof p.hostPort === 'number' && p.hostPort > 0).map((p) => ({ container: c.name, hostPort: p.hostPort!, protocol: (p.protocol ?? 'TCP').toUpperCase() })),
  );
}

/**
 * `nginx:1.27` → image `nginx`, tag `1.27`; no tag → `latest`. Undefined for a digest
 * reference (`…@sha256:…`), which the image/tag check cannot express.
 */
export function splitImage(ref: string): { image: string; tag: string } | undefined {
  const text = ref.trim();
  if (text.includes('@')) return undefined;
  const colon = text.lastIndexOf(':');
  if (colon > text.lastIndexOf('/')) return { image: text.slice(0, colon), tag: text.slice(colon + 1) };
  return { image: text, tag: 'latest' };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
