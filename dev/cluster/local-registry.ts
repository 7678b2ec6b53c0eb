/**
 * The local cluster's own image registry: Debian's docker-registry on 127.0.0.1 (port
 * 5000 unless the cluster's port block moved), plain HTTP, no auth, its storage in the
 * cluster's state directory. The real node pulls from it (docker.io is mapped to it),
 * `cluster:up` pushes the node's pause and busybox images into it, and tests and
 * developers push their own.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startProcess, type ProcessRecord } from './processes.js';
import { ClusterError } from './util.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

/** `127.0.0.1:<port>`: what goes before a repository in an image reference. */
export function registryHost(port: number): string {
  return `127.0.0.1:${port}`;
}

export async function startLocalRegistry(state: string, port: number): Promise<ProcessRecord> {
  if (!existsSync(REGISTRY_BINARY)) {
    throw new ClusterError('docker-registry is not installed (the real node pulls its images from it)', 'run scripts/install-system-deps.sh');
  }
  const dir = join(state, 'registry');
  await mkdir(dir, { recursive: true });
  const config = {
    version: '0.1',
    log: { level: 'warn', formatter: 'text', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(dir, 'storage') }, delete: { enabled: true }, cache: { blobdescriptor: 'inmemory' } },
    http: { addr: registryHost(port), secret: randomBytes(16).toString('hex') },
    health: { storagedriver: { enabled: false } },
  };
  const file = join(dir, 'config.yml');
  // JSON is YAML, and the registry's parser reads it as such.
  await writeFile(file, JSON.stringify(config, null, 2));
  return startProcess(state, 'registry', REGISTRY_BINARY, ['serve', file]);
}
