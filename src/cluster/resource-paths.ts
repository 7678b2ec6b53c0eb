/** REST paths of the kinds V-Kube manages (no discovery needed for this fixed set). */

interface KindInfo {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

const KINDS: Record<string, KindInfo> = {
  Namespace: { group: '', version: 'v1', plural: 'namespaces', namespaced: false },
  ResourceQuota: { group: '', version: 'v1', plural: 'resourcequotas', namespaced: true },
  LimitRange: { group: '', version: 'v1', plural: 'limitranges', namespaced: true },
  Secret: { group: '', version: 'v1', plural: 'secrets', namespaced: true },
  ConfigMap: { group: '', version: 'v1', plural: 'configmaps', namespaced: true },
  Service: { group: '', version: 'v1', plural: 'services', namespaced: true },
  PersistentVolumeClaim: { group: '', version: 'v1', plural: 'persistentvolumeclaims', namespaced: true },
  Pod: { group: '', version: 'v1', plural: 'pods', namespaced: true },
  NetworkPolicy: { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', namespaced: true },
  Ingress: { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', namespaced: true },
  Deployment: { group: 'apps', version: 'v1', plural: 'deployments', namespaced: true },
};

export function collectionPath(kind: string, namespace?: string): string {
  const k = KINDS[kind];
  if (!k) throw new Error(`V-Kube does not manage objects of kind ${kind}`);
  const base = k.group ? `/apis/${k.group}/${k.version}` : `/api/${k.version}`;
  return k.namespaced && namespace ? `${base}/namespaces/${namespace}/${k.plural}` : `${base}/${k.plural}`;
}

export function objectPath(kind: string, name: string, namespace?: string): string {
  return `${collectionPath(kind, namespace)}/${encodeURIComponent(name)}`;
}
