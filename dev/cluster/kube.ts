/** Talking to the local control plane while it comes up: health probes, CRDs, nodes. */
import * as k8s from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { type ClusterConfig, type FakeNode, repoRoot } from './config.js';
import type { Pki } from './pki.js';

/** Label on every node the local cluster made, so stale ones can be found and removed. */
export const LOCAL_NODE_LABEL = 'vkube.dev/local-cluster';

/**
 * GET over HTTP(S); resolves the status code, or 0 when unreachable. With `pki` it
 * authenticates as the admin and verifies the server against our CA; without it, it
 * accepts the self-signed serving certificates of the controller-manager and scheduler.
 */
export async function probe(url: string, pki?: Pki, timeoutMs = 2000): Promise<{ status: number; body: string }> {
  const tls = pki
    ? { ca: await readFile(pki.caCert), cert: await readFile(pki.adminCert), key: await readFile(pki.adminKey) }
    : { rejectUnauthorized: false };
  return new Promise((resolve) => {
    const req = (url.startsWith('https:') ? request : httpRequest)(url, { ...tls, timeout: timeoutMs }, (res) => {
      let body = '';
      // setEncoding decodes across chunks: a character split between two reads stays whole.
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.end();
  });
}

export function kubeClient(kubeconfig: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc;
}

/** Field manager of what the local cluster applies itself. */
export const LOCAL_FIELD_MANAGER = 'vkube-local-cluster';

/** V-Kube's in-cluster guard and its own identity (deploy/kubernetes), applied by cluster:up in this order. */
export const GUARD_MANIFESTS = {
  rbac: join(repoRoot, 'deploy', 'kubernetes', 'rbac.yaml'),
  admissionPolicy: join(repoRoot, 'deploy', 'kubernetes', 'admission-policy.yaml'),
} as const;

/** Any Kubernetes object, as plain JSON. */
export type Manifest = k8s.KubernetesObject & Record<string, unknown>;

/** The objects of a (multi-document) YAML file, in file order; empty documents skipped. */
export async function readManifests(file: string): Promise<Manifest[]> {
  const docs = parseAllDocuments(await readFile(file, 'utf8'));
  const objects: Manifest[] = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    const obj = doc.toJS() as Manifest | null;
    if (obj) objects.push(obj);
  }
  return objects;
}

/** Server-side applies `objects` one after another (creating or updating each), forcing ownership of their fields. */
export async function applyManifests(kc: k8s.KubeConfig, objects: Manifest[], fieldManager = LOCAL_FIELD_MANAGER): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const obj of objects) await api.patch(obj, undefined, undefined, fieldManager, true, k8s.PatchStrategy.ServerSideApply);
}

/** Applies V-Kube's RBAC and admission policies (GUARD_MANIFESTS) to the cluster. */
export async function applyGuard(kc: k8s.KubeConfig): Promise<void> {
  for (const file of [GUARD_MANIFESTS.rbac, GUARD_MANIFESTS.admissionPolicy]) await applyManifests(kc, await readManifests(file));
}

/** Creates or updates the CRDs in the given YAML files and waits until they are served. */
export async function applyCrds(kc: k8s.KubeConfig, files: string[]): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  for (const file of files) {
    const body = parse(await readFile(file, 'utf8')) as k8s.V1CustomResourceDefinition;
    const name = body.metadata!.name!;
    try {
      const existing = await api.readCustomResourceDefinition({ name });
      body.metadata!.resourceVersion = existing.metadata!.resourceVersion;
      await api.replaceCustomResourceDefinition({ name, body });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await api.createCustomResourceDefinition({ body });
    }
  }
  for (const file of files) {
    const name = (parse(await readFile(file, 'utf8')) as k8s.V1CustomResourceDefinition).metadata!.name!;
    await until(async () => {
      const crd = await api.readCustomResourceDefinition({ name });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
    }, 30_000, `CRD ${name} to be established`);
  }
}

/**
 * Makes the cluster's nodes match the config: creates missing fake nodes (with their
 * region label, capacity and address) and deletes fake nodes the config no longer has.
 */
export async function syncNodes(kc: k8s.KubeConfig, config: ClusterConfig, nodes: FakeNode[]): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const existing = (await core.listNode({ labelSelector: LOCAL_NODE_LABEL })).items.filter((n) => n.metadata?.annotations?.['kwok.x-k8s.io/node'] === 'fake');
  const have = new Set(existing.map((n) => n.metadata!.name!));
  const want = new Set(nodes.map((n) => n.name));
  for (const node of nodes) {
    if (have.has(node.name)) {
      // Nodes made by an older version of this script may lack newer annotations.
      await core.patchNode({ name: node.name, body: { metadata: { annotations: nodeAnnotations(node.name) } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      const current = existing.find((n) => n.metadata!.name === node.name)!;
      if (!current.status?.addresses?.some((a) => a.type === 'InternalDNS')) {
        await core.patchNodeStatus({ name: node.name, body: { status: { addresses: fakeNodeAddresses(node) } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      }
      continue;
    }
    const resources = { cpu: node.resources.cpu, memory: node.resources.memory, pods: node.resources.pods };
    await core.createNode({
      body: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: node.name,
          labels: {
            [config.regionLabel]: node.region,
            [LOCAL_NODE_LABEL]: 'true',
            'kubernetes.io/hostname': node.name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'node.kubernetes.io/instance-type': 'kwok',
            type: 'kwok',
          },
          annotations: nodeAnnotations(node.name),
        },
        spec: {},
        status: {
          capacity: resources,
          allocatable: resources,
          addresses: fakeNodeAddresses(node),
        },
      },
    });
  }
  for (const name of have) {
    if (!want.has(name)) await core.deleteNode({ name });
  }
}

/**
 * A fake node's addresses. Its InternalIP is made up (pods show it as their hostIP and
 * nothing ever dials it); the API server and metrics-server reach its "kubelet" (kwok's
 * server on loopback) by InternalDNS, which they prefer to InternalIP. The real node
 * reports only an InternalIP, its own.
 */
function fakeNodeAddresses(node: FakeNode): k8s.V1NodeAddress[] {
  return [
    { type: 'InternalIP', address: node.ip },
    { type: 'InternalDNS', address: 'localhost' },
  ];
}

/** Where metrics-server and V-Kube find this node's metrics on kwok's kubelet server. */
function nodeAnnotations(name: string): Record<string, string> {
  return {
    'kwok.x-k8s.io/node': 'fake',
    'node.alpha.kubernetes.io/ttl': '0',
    'metrics.k8s.io/resource-metrics-path': `/metrics/nodes/${name}/metrics/resource`,
    'vkube.dev/cadvisor-metrics-path': `/metrics/nodes/${name}/metrics/cadvisor`,
  };
}

export async function readyNodes(kc: k8s.KubeConfig): Promise<{ total: number; ready: string[]; notReady: string[] }> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const list = await core.listNode({ labelSelector: LOCAL_NODE_LABEL });
  const ready: string[] = [];
  const notReady: string[] = [];
  for (const n of list.items) {
    const ok = n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    (ok ? ready : notReady).push(n.metadata!.name!);
  }
  return { total: list.items.length, ready, notReady };
}

export function isNotFound(err: unknown): boolean {
  return err instanceof k8s.ApiException && err.code === 404;
}

/** Thrown by a check to stop waiting at once (the awaited thing can no longer happen). */
export class GiveUp extends Error {}

/** Polls `check` until it returns true; throws a timeout naming `what`. */
export async function until(check: () => Promise<boolean>, timeoutMs: number, what: string, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
