/**
 * Deploys on the bench cluster's real node: a real image (Debian's static busybox
 * serving HTTP on 8080, stopping at once on SIGTERM) in the cluster's own registry,
 * pulled once by a warm-up deploy, so the timed deploys measure starting containers
 * and not downloading them.
 */
import { pushTestImage, realNode } from '../dev/cluster/testing.js';
import type { PodWatch } from './kube.js';
import { type Order, type Vkube, createOrder, deploy } from './vkube.js';

export interface RealNodeBench {
  image: string;
  /** A running order on the real node: the template of the direct Deployments. */
  warm: Order;
}

const SERVE = 'mkdir -p /www && echo bench > /www/index.html && trap "exit 0" TERM && httpd -f -p 8080 -h /www & wait';

/** Undefined when the bench cluster has no real node (not root, or a config without one). */
export async function prepareRealNode(vk: Vkube, watch: PodWatch, region: string, hostPort: number): Promise<RealNodeBench | undefined> {
  const node = await realNode();
  if (!node) return undefined;
  const { image } = await pushTestImage(node.registry, 'bench/real', '1', { config: { Entrypoint: ['/bin/sh', '-c', SERVE] } });
  const warm = await createOrder(vk, region, hostPort);
  const running = watch.running(warm.namespace);
  await deploy(vk, warm, region, image);
  await running;
  return { image, warm };
}
