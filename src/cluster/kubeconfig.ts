/**
 * Where the cluster is and how to authenticate to it, from a kubeconfig file or from
 * the pod's service account (in-cluster).
 *
 * Client certificates, bearer tokens (inline or from a file) and the in-cluster
 * service account — what a provider running V-Kube uses — are read here directly.
 * Only a kubeconfig whose user runs an `exec` plugin or an `auth-provider` loads
 * @kubernetes/client-node, which knows them all: that library costs some 80 MB of
 * memory, which the common cases do not need to pay.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { parse } from 'yaml';

export interface ClusterAccess {
  server: URL;
  clusterName: string;
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean };
  /** Headers that authenticate a request now (tokens rotate: asked before requests, cached briefly by the caller). */
  authHeaders(): Promise<Record<string, string>>;
}

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters?: Array<{ name: string; cluster: { server: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean } }>;
  users?: Array<{
    name: string;
    user: {
      'client-certificate'?: string;
      'client-certificate-data'?: string;
      'client-key'?: string;
      'client-key-data'?: string;
      token?: string;
      tokenFile?: string;
      username?: string;
      password?: string;
      exec?: unknown;
      'auth-provider'?: unknown;
    };
  }>;
}

/**
 * The kubeconfig at `path` (its current context, or `context` when given), or the
 * in-cluster service account when `path` is undefined.
 */
export async function loadClusterAccess(path: string | undefined, context?: string): Promise<ClusterAccess> {
  return path ? fromKubeconfig(path, context) : inCluster();
}

async function inCluster(): Promise<ClusterAccess> {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT ?? '443';
  if (!host) throw new Error('not running in a cluster (no KUBERNETES_SERVICE_HOST) and no kubeconfig given');
  const tokenFile = join(SERVICE_ACCOUNT, 'token');
  return {
    server: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`),
    clusterName: 'in-cluster',
    tls: { ca: await readFile(join(SERVICE_ACCOUNT, 'ca.crt')) },
    // Projected tokens are rotated by the kubelet: read the file each time.
    authHeaders: async () => ({ authorization: `Bearer ${(await readFile(tokenFile, 'utf8')).trim()}` }),
  };
}

async function fromKubeconfig(path: string, chosen?: string): Promise<ClusterAccess> {
  const file = parse(await readFile(path, 'utf8')) as KubeconfigFile;
  const contextName = chosen ?? file['current-context'];
  const context = file.contexts?.find((c) => c.name === contextName)?.context;
  if (!context) throw new Error(chosen ? `kubeconfig ${path}: no context named ${chosen}` : `kubeconfig ${path}: no current context`);
  const cluster = file.clusters?.find((c) => c.name === context.cluster)?.cluster;
  const user = file.users?.find((u) => u.name === context.user)?.user ?? {};
  if (!cluster?.server) throw new Error(`kubeconfig ${path}: context ${contextName} names no cluster with a server`);
  if (user.exec || user['auth-provider']) return viaClientNode(path, chosen);

  const base = dirname(path);
  const read = (file?: string, data?: string): Buffer | undefined =>
    data ? Buffer.from(data, 'base64') : file ? readFileSync(isAbsolute(file) ? file : join(base, file)) : undefined;
  const tls: ClusterAccess['tls'] = {};
  const ca = read(cluster['certificate-authority'], cluster['certificate-authority-data']);
  if (ca) tls.ca = ca;
  const cert = read(user['client-certificate'], user['client-certificate-data']);
  if (cert) tls.cert = cert;
  const key = read(user['client-key'], user['client-key-data']);
  if (key) tls.key = key;
  if (cluster['insecure-skip-tls-verify']) tls.rejectUnauthorized = false;

  const tokenFile = user.tokenFile && (isAbsolute(user.tokenFile) ? user.tokenFile : join(base, user.tokenFile));
  const basic = user.username !== undefined ? `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}` : undefined;
  return {
    server: new URL(cluster.server),
    clusterName: context.cluster,
    tls,
    authHeaders: async (): Promise<Record<string, string>> => {
      if (user.token) return { authorization: `Bearer ${user.token}` };
      if (tokenFile) return { authorization: `Bearer ${(await readFile(tokenFile, 'utf8')).trim()}` };
      return basic ? { authorization: basic } : {};
    },
  };
}

/** Exec plugins and auth providers: let @kubernetes/client-node run them. */
async function viaClientNode(path: string, context?: string): Promise<ClusterAccess> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  if (context) kc.setCurrentContext(context);
  return fromClientNodeConfig(kc);
}

/** A @kubernetes/client-node KubeConfig as ClusterAccess (tests and dev scripts hold those). */
export async function fromClientNodeConfig(kc: {
  getCurrentCluster(): { name: string; server: string } | null;
  applyToHTTPSOptions(opts: object): Promise<void>;
}): Promise<ClusterAccess> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig names no current cluster');
  const opts: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean } = {};
  await kc.applyToHTTPSOptions(opts);
  const tls: ClusterAccess['tls'] = {};
  if (opts.ca) tls.ca = opts.ca;
  if (opts.cert) tls.cert = opts.cert;
  if (opts.key) tls.key = opts.key;
  if (opts.rejectUnauthorized !== undefined) tls.rejectUnauthorized = opts.rejectUnauthorized;
  return {
    server: new URL(cluster.server),
    clusterName: cluster.name,
    tls,
    authHeaders: async () => {
      const o: { headers?: Record<string, string> } = { headers: {} };
      await kc.applyToHTTPSOptions(o);
      return { ...(o.headers ?? {}) };
    },
  };
}
