/**
 * A kubeconfig that acts as V-Kube's own in-cluster identity (ServiceAccount
 * vkube-system/vkube, deploy/kubernetes/rbac.yaml) instead of the admin certificate, so
 * tests can prove V-Kube works with least privilege and nothing more.
 *
 * The token comes from the TokenRequest API (bound to the ServiceAccount, expiring in a
 * day). The file is reused while its token is accepted by the cluster and has more than
 * an hour left; then a call costs one request (a SelfSubjectReview), unless the guard's
 * YAML changed since the file was written, when it is applied again first.
 */
import * as k8s from '@kubernetes/client-node';
import { readFileSync } from 'node:fs';
import { mkdir, rename, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { stateDir } from './config.js';
import { applyGuard, GUARD_MANIFESTS, kubeClient } from './kube.js';

export const VKUBE_NAMESPACE = 'vkube-system';
export const VKUBE_SERVICE_ACCOUNT = 'vkube';
export const VKUBE_USERNAME = `system:serviceaccount:${VKUBE_NAMESPACE}:${VKUBE_SERVICE_ACCOUNT}`;

const TOKEN_SECONDS = 24 * 3600;
const MIN_LEFT_SECONDS = 3600;

export function vkubeIdentityKubeconfigPath(state = stateDir()): string {
  return join(state, 'vkube-identity.kubeconfig');
}

/**
 * Makes sure V-Kube's RBAC (and the admission policies that confine it) are applied,
 * and returns the path of a kubeconfig that authenticates as vkube-system/vkube against
 * the same server, trusting the same CA, as `adminKubeconfig`.
 */
export async function ensureVkubeIdentityKubeconfig(adminKubeconfig: string, state = stateDir()): Promise<string> {
  const admin = kubeClient(adminKubeconfig);
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error(`${adminKubeconfig} names no current cluster`);
  const ca = caData(cluster);

  const path = vkubeIdentityKubeconfigPath(state);
  const reuse = await reusable(path, cluster.server, ca);
  // The guard was applied when the file was written (and by every cluster:up); again only if it changed since.
  if (reuse && (await newerThanGuard(path))) return path;
  await applyGuard(admin);
  if (reuse) {
    const now = new Date();
    await utimes(path, now, now);
    return path;
  }

  const core = admin.makeApiClient(k8s.CoreV1Api);
  const answer = await core.createNamespacedServiceAccountToken({
    name: VKUBE_SERVICE_ACCOUNT,
    namespace: VKUBE_NAMESPACE,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: TOKEN_SECONDS, audiences: [] /* none: the API server's own */ } },
  });
  const token = answer.status?.token;
  if (!token) throw new Error(`the TokenRequest for ${VKUBE_USERNAME} returned no token`);

  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster.name, cluster: { server: cluster.server, ...(ca ? { 'certificate-authority-data': ca } : {}) } }],
    users: [{ name: VKUBE_USERNAME, user: { token } }],
    contexts: [{ name: 'vkube-identity', context: { cluster: cluster.name, user: VKUBE_USERNAME } }],
    'current-context': 'vkube-identity',
  };
  await mkdir(state, { recursive: true });
  // Written aside and renamed: concurrent test files never read half a file.
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, stringify(config), { mode: 0o600 });
  await rename(tmp, path);
  return path;
}

/** The CA the admin kubeconfig trusts, base64-encoded (undefined: the system's CAs). */
function caData(cluster: k8s.Cluster): string | undefined {
  if (cluster.caData) return cluster.caData;
  if (cluster.caFile) return readFileSync(cluster.caFile).toString('base64');
  return undefined;
}

/** The file exists, is for this server and CA, its token has over an hour left, and the cluster still accepts it as V-Kube. */
async function reusable(path: string, server: string, ca: string | undefined): Promise<boolean> {
  let kc: k8s.KubeConfig;
  try {
    kc = kubeClient(path);
  } catch {
    return false;
  }
  const cluster = kc.getCurrentCluster();
  const token = kc.getCurrentUser()?.token;
  if (!cluster || !token || cluster.server !== server || cluster.caData !== ca) return false;
  const exp = tokenExpiry(token);
  if (exp === undefined || exp - Date.now() / 1000 < MIN_LEFT_SECONDS) return false;
  try {
    // Bound tokens die with their ServiceAccount (and with the signing key): ask.
    const review = await kc.makeApiClient(k8s.AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    return review.status?.userInfo?.username === VKUBE_USERNAME;
  } catch {
    return false;
  }
}

async function newerThanGuard(path: string): Promise<boolean> {
  const mtime = async (f: string) => (await stat(f)).mtimeMs;
  const written = await mtime(path);
  for (const f of Object.values(GUARD_MANIFESTS)) if ((await mtime(f)) > written) return false;
  return true;
}

/** `exp` (seconds since the epoch) of a JWT, without checking its signature. */
function tokenExpiry(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp : undefined;
  } catch {
    return undefined;
  }
}
