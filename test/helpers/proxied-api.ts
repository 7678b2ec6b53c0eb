/**
 * The real API server behind a loopback TCP proxy the test controls (black-hole it,
 * count its connections): a KubeHttp straight to it, one through the proxy, and a
 * namespace of the test's own, all undone by `close()`.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testKubeconfig } from '../../dev/cluster/testing.js';
import { KubeHttp } from '../../src/cluster/kube-http.js';
import { type TcpProxy, startTcpProxy } from './tcp-proxy.js';

export interface ProxiedApi {
  direct: KubeHttp;
  proxy: TcpProxy;
  viaProxy: KubeHttp;
  close(): Promise<void>;
}

export async function proxiedApi(namespace: string): Promise<ProxiedApi> {
  const direct = await KubeHttp.connect(testKubeconfig());
  await direct.post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const text = await readFile(testKubeconfig(), 'utf8');
  const server = /server: https:\/\/127\.0\.0\.1:(\d+)/.exec(text);
  assert.ok(server, 'the kubeconfig names a loopback API server');
  const proxy = await startTcpProxy('127.0.0.1', Number(server[1]));
  const dir = await mkdtemp(join(tmpdir(), `vkube-${namespace}-`));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeFile(kubeconfig, text.replace(server[0], `server: https://127.0.0.1:${proxy.port}`), { mode: 0o600 });
  const viaProxy = await KubeHttp.connect(kubeconfig);
  return {
    direct,
    proxy,
    viaProxy,
    async close() {
      proxy.restore();
      await direct.delete(`/api/v1/namespaces/${namespace}`).catch(() => {});
      direct.close();
      viaProxy.close();
      await proxy.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
