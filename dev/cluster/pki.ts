/**
 * The local cluster's PKI, made with the openssl command line: one CA, one admin
 * certificate (system:masters, server and client auth) that every component uses on
 * loopback, a front-proxy certificate for aggregated APIs (metrics-server), and the
 * service-account signing key pair. Generated once per state directory.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ClusterError } from './util.js';

const exec = promisify(execFile);

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  adminCert: string;
  adminKey: string;
  proxyCert: string;
  proxyKey: string;
  saKey: string;
  saPub: string;
}

export function pkiPaths(dir: string): Pki {
  const p = (f: string) => join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    proxyCert: p('front-proxy-client.crt'),
    proxyKey: p('front-proxy-client.key'),
    saKey: p('sa.key'),
    saPub: p('sa.pub'),
  };
}

export async function ensurePki(dir: string): Promise<Pki> {
  const pki = pkiPaths(dir);
  if ([pki.caCert, pki.adminCert, pki.proxyCert, pki.saKey, pki.saPub].every((f) => existsSync(f))) return pki;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', pki.caKey, '-out', pki.caCert, '-days', '3650', '-subj', '/CN=vkube-local-ca']);
  await issue(pki, 'admin', '/O=system:masters/CN=vkube-admin', [
    'DNS:localhost',
    'DNS:kubernetes',
    'DNS:kubernetes.default',
    'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local',
    'IP:127.0.0.1',
    'IP:10.96.0.1',
  ]);
  await issue(pki, 'front-proxy-client', '/CN=front-proxy-client', ['DNS:localhost']);
  await openssl(['genrsa', '-out', pki.saKey, '2048']);
  await openssl(['rsa', '-in', pki.saKey, '-pubout', '-out', pki.saPub]);
  return pki;
}

/**
 * The real node's certificate: its kubelet's client identity (system:node:<name> in
 * group system:nodes, which the Node authorizer understands) and the serving
 * certificate of its kubelet API, for the node's address.
 */
export async function ensureNodeCert(pki: Pki, node: string, ip: string): Promise<{ cert: string; key: string }> {
  const name = `node-${node}`;
  const paths = { cert: join(pki.dir, `${name}.crt`), key: join(pki.dir, `${name}.key`) };
  const ext = join(pki.dir, `${name}.ext`);
  // Re-issued when the node's address changed (another slot on this machine).
  if (existsSync(paths.cert) && existsSync(ext) && (await readFile(ext, 'utf8')).includes(`IP:${ip}`)) return paths;
  await issue(pki, name, `/O=system:nodes/CN=system:node:${node}`, [`DNS:${node}`, `IP:${ip}`]);
  return paths;
}

async function issue(pki: Pki, name: string, subject: string, sans: string[]): Promise<void> {
  const key = join(pki.dir, `${name}.key`);
  const csr = join(pki.dir, `${name}.csr`);
  const ext = join(pki.dir, `${name}.ext`);
  await writeFile(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=${sans.join(',')}`,
    ].join('\n') + '\n',
  );
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
  await openssl(['x509', '-req', '-in', csr, '-CA', pki.caCert, '-CAkey', pki.caKey, '-CAcreateserial', '-out', join(pki.dir, `${name}.crt`), '-days', '3650', '-extfile', ext]);
}

async function openssl(args: string[]): Promise<void> {
  try {
    await exec('openssl', args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new ClusterError('the openssl command was not found', 'install it: apt-get install openssl');
    throw new ClusterError(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`, 'remove .vkube/cluster/pki and run cluster:up again');
  }
}

/** A kubeconfig that authenticates as the admin certificate. */
export function adminKubeconfig(pki: Pki, server: string): string {
  return certificateKubeconfig(pki, server, { user: 'vkube-admin', cert: pki.adminCert, key: pki.adminKey });
}

/** A kubeconfig that authenticates with a client certificate of our CA. */
export function certificateKubeconfig(pki: Pki, server: string, client: { user: string; cert: string; key: string }): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: vkube-local
  cluster:
    certificate-authority: ${pki.caCert}
    server: ${server}
users:
- name: ${client.user}
  user:
    client-certificate: ${client.cert}
    client-key: ${client.key}
contexts:
- name: vkube-local
  context:
    cluster: vkube-local
    user: ${client.user}
current-context: vkube-local
`;
}
