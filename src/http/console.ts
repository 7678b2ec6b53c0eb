/**
 * The web console: the built single-page app in console/dist, served at `/`. Any GET
 * for a page (not the API, docs or health) answers its index.html, so deep links work.
 */
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const NOT_PAGES = /^\/(api|docs|openapi\.json|healthz|readyz|metrics)(\/|$|\?)/;

export async function registerConsole(app: FastifyInstance, distDir: string): Promise<boolean> {
  if (!existsSync(join(distDir, 'index.html'))) return false;
  // wildcard: files are looked up per request, so a rebuilt console is served without a restart.
  await app.register(fastifyStatic, { root: distDir, prefix: '/', wildcard: true, index: ['index.html'], cacheControl: false });
  app.addHook('onSend', async (request, reply, payload) => {
    // Hashed assets never change; the page itself must always be fetched fresh.
    if (request.url.startsWith('/assets/')) reply.header('cache-control', 'public, max-age=31536000, immutable');
    else if (reply.getHeader('content-type')?.toString().startsWith('text/html')) reply.header('cache-control', 'no-cache');
    return payload;
  });
  return true;
}

/** True when a request that matched no route should get the console's page. */
export function wantsConsolePage(method: string, url: string, accept: string | undefined): boolean {
  return method === 'GET' && !NOT_PAGES.test(url) && (accept ?? '').includes('text/html');
}
