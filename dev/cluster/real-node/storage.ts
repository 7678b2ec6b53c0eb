/**
 * Real persistent volumes: rancher's local-path provisioner (built from its Go module)
 * runs beside the control plane and makes a directory on the real node for each claim
 * of the default StorageClass `local-path`. It creates and removes those directories
 * with helper pods (our busybox image) on the node.
 *
 * Only the real node can hold such a volume: the class's allowed topology is the real
 * region, so a claim whose pod must run on a kwok node says so instead of waiting.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { applyManifests, type kubeClient, type Manifest } from '../kube.js';
import type { RealNodeLayout } from './layout.js';

export const STORAGE_NAMESPACE = 'local-path-storage';
export const STORAGE_CLASS = 'local-path';
export const PROVISIONER_NAME = 'rancher.io/local-path';
const SERVICE_ACCOUNT = 'local-path-provisioner-service-account';
const CONFIG_MAP = 'local-path-config';

const SETUP_SCRIPT = '#!/bin/sh\nset -eu\nmkdir -m 0777 -p "$VOL_DIR"\n';
const TEARDOWN_SCRIPT = '#!/bin/sh\nset -eu\nrm -rf "$VOL_DIR"\n';

function helperPod(): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'helper-pod' },
    spec: {
      priorityClassName: 'system-node-critical',
      tolerations: [{ key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' }],
      containers: [{ name: 'helper-pod', image: 'busybox', imagePullPolicy: 'IfNotPresent' }],
    },
  };
}

function provisionerConfig(node: RealNodeLayout): string {
  return JSON.stringify({ nodePathMap: [{ node: node.name, paths: [node.volumesDir] }] }, null, 2);
}

/** The namespace, identity, scripts and default StorageClass; returns the provisioner's flags. */
export async function prepareStorage(kc: ReturnType<typeof kubeClient>, node: RealNodeLayout, regionLabel: string, kubeconfig: string, helperImage: string): Promise<string[]> {
  await mkdir(node.volumesDir, { recursive: true });
  const dir = join(node.dir, 'local-path');
  await mkdir(dir, { recursive: true });
  const configFile = join(dir, 'config.json');
  const helperPodFile = join(dir, 'helperPod.yaml');
  await writeFile(configFile, provisionerConfig(node));
  await writeFile(helperPodFile, stringify(helperPod()));
  await applyManifests(kc, [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: STORAGE_NAMESPACE } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SERVICE_ACCOUNT, namespace: STORAGE_NAMESPACE } },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: CONFIG_MAP, namespace: STORAGE_NAMESPACE },
      data: { 'config.json': provisionerConfig(node), setup: SETUP_SCRIPT, teardown: TEARDOWN_SCRIPT, 'helperPod.yaml': stringify(helperPod()) },
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
      provisioner: PROVISIONER_NAME,
      volumeBindingMode: 'WaitForFirstConsumer',
      reclaimPolicy: 'Delete',
      allowedTopologies: [{ matchLabelExpressions: [{ key: regionLabel, values: [node.region] }] }],
    },
  ]);
  return [
    'start',
    `--kubeconfig=${kubeconfig}`,
    `--config=${configFile}`,
    `--helper-pod-file=${helperPodFile}`,
    `--namespace=${STORAGE_NAMESPACE}`,
    `--service-account-name=${SERVICE_ACCOUNT}`,
    `--configmap-name=${CONFIG_MAP}`,
    `--helper-image=${helperImage}`,
    `--provisioner-name=${PROVISIONER_NAME}`,
  ];
}
