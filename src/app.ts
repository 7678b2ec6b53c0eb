/**
 * Builds the HTTP app from its services. No I/O of its own: `main.ts` decides what to
 * listen on; tests build it with their own services and call it with `inject`.
 */
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { registerConsole } from './http/console.js';
import { installErrorHandling } from './http/errors.js';
import { lazyChildLogger } from './http/lazy-logger.js';
import { registerOpenApi } from './http/openapi.js';
import { activityRoutes } from './http/routes/activity.js';
import { installBodyContract } from './http/body-contract.js';
import { adminRoutes } from './http/routes/admin.js';
import { clusterRoutes } from './http/routes/clusters.js';
import { contactRoutes } from './http/routes/contact.js';
import { deploymentRoutes } from './http/routes/deployment.js';
import { domainRoutes } from './http/routes/domains.js';
import { healthRoutes } from './http/routes/health.js';
import { imageRoutes } from './http/routes/images.js';
import { monitorRoutes } from './http/routes/monitor.js';
import { noticeRoutes } from './http/routes/notices.js';
import { orderRoutes } from './http/routes/orders.js';
import { podLogRoutes } from './http/routes/pod-log.js';
import { PORT_FORWARD_CLIENT_PROTOCOL, podSessionRoutes } from './http/routes/pod-sessions.js';
import { podRoutes } from './http/routes/pod.js';
import { portRoutes } from './http/routes/ports.js';
import { regionRoutes } from './http/routes/regions.js';
import { webhookRoutes } from './http/routes/webhooks.js';
import { EXEC_PROTOCOL, EXEC_PROTOCOL_V4 } from './kernel/stream-channels.js';
import { tokenRoutes } from './http/routes/tokens.js';
import { ClientLimiter } from './http/client-limiter.js';
import { registerMetrics } from './http/metrics.js';
import { installSecurity } from './http/security.js';
import type { Services } from './services.js';

export interface AppOptions {
  /** The process's pino logger; without one the app logs nothing (tests). */
  logger?: FastifyBaseLogger;
  /** The built console (default console/dist next to src/); served at / when present. */
  consoleDir?: string;
}

/** console/dist at the repository's root, seen from src/ (tsx) or dist/src/ (compiled). */
const DEFAULT_CONSOLE_DIR = [new URL('../console/dist', import.meta.url), new URL('../../console/dist', import.meta.url)]
  .map((u) => fileURLToPath(u))
  .find((dir) => existsSync(dir)) ?? fileURLToPath(new URL('../console/dist', import.meta.url));

/** Largest WebSocket message a client may send (stdin, a port-forward's bytes): 1 MiB. */
const WS_MAX_MESSAGE_BYTES = 1024 * 1024;

export async function buildApp(services: Services, opts: AppOptions = {}): Promise<FastifyInstance> {
  const { config } = services;
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger, childLoggerFactory: lazyChildLogger } : { logger: false }),
    bodyLimit: config.bodyLimit,
    // Oversized request heads are refused by Node (431) before any of our code runs.
    serverFactory: (handler) => createServer({ maxHeaderSize: config.headerLimit }, handler),
    trustProxy: config.trustProxy,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    // Python clients send `?allTypes=True&containers=a&containers=b`: keep repeated keys as arrays.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const consoleServed = await registerConsole(app, opts.consoleDir ?? DEFAULT_CONSOLE_DIR);
  installErrorHandling(app, consoleServed ? (reply) => reply.type('text/html; charset=utf-8').sendFile('index.html') : undefined);

  // `curl -d '{…}'` without a Content-Type header sends form encoding: read any body as JSON.
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body).trim();
    if (!text) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('body is not valid JSON'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }), undefined);
    }
  });

  const limiter = new ClientLimiter({
    requestsPerSecond: config.limits.requestsPerSecond,
    burst: config.limits.burst,
    failuresBeforeLockout: config.limits.failuresBeforeLockout,
    failureWindowSeconds: 60,
    lockoutSeconds: config.limits.lockoutSeconds,
    maxLockoutSeconds: 15 * 60,
  });
  // Shutting down: live sessions are told so (1001) before the WebSocket plugin closes what is left.
  // (Not listening: no WebSocket can be open, and the OpenAPI generator's stand-in services have no sessions.)
  app.addHook('preClose', async () => {
    if (app.server.listening) services.exec.sessions.endAll('shutdown');
  });
  // WebSocket upgrades go through the routes and their hooks (auth, limits) before any upgrade.
  // Registered before the security hooks: its own hooks must see every upgrade request, those
  // the rate limit refuses included, so that a refused upgrade's connection is closed after the answer.
  await app.register(websocket, {
    options: {
      maxPayload: WS_MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
      // The subprotocol answered: the channel protocol for exec, ours for a port-forward; never the secret one.
      handleProtocols: (offered: Set<string>, request: { url?: string }) => {
        if (request.url?.startsWith('/api/v1/k8s/pod/exec')) return offered.has(EXEC_PROTOCOL) ? EXEC_PROTOCOL : offered.has(EXEC_PROTOCOL_V4) ? EXEC_PROTOCOL_V4 : false;
        return offered.has(PORT_FORWARD_CLIENT_PROTOCOL) ? PORT_FORWARD_CLIENT_PROTOCOL : false;
      },
    },
  });
  installSecurity(app, { limiter, audit: services.audit, config, log: (err) => app.log.warn({ err }, 'could not write the audit log') });

  await registerOpenApi(app);
  installBodyContract(app);
  registerMetrics(app, services.metrics, config.metricsToken);

  await app.register(healthRoutes, { readiness: services.readiness });
  await app.register(
    async (api) => {
      const tenant = { auth: services.auth, limiter };
      // One file per resource, each with every API generation's routes for it (the seed's, the original clients').
      await api.register(regionRoutes, { clusters: services.clusters });
      await api.register(imageRoutes, { ...tenant, registry: services.registry, updates: services.updates });
      await api.register(portRoutes, { ports: services.ports, auth: services.auth });
      await api.register(orderRoutes, { ...tenant, units: config.units, orders: services.orders, contacts: services.contacts });
      await api.register(deploymentRoutes, { ...tenant, deploys: services.deploys, updates: services.updates, deployHistory: services.deployHistory });
      await api.register(podRoutes, { ...tenant, workloads: services.workloads, updates: services.updates, domains: services.domainService, endpoints: services.endpoints });
      await api.register(podLogRoutes, { ...tenant, workloads: services.workloads, sessions: services.exec });
      await api.register(monitorRoutes, { ...tenant, monitor: services.monitor, usageHistory: services.usageHistory });
      await api.register(domainRoutes, { ...tenant, domains: services.domainService });
      await api.register(noticeRoutes, { notices: services.notices });
      await api.register(activityRoutes, { ...tenant, events: services.events });
      await api.register(podSessionRoutes, { ...tenant, exec: services.exec, maxMessageBytes: WS_MAX_MESSAGE_BYTES });
      await api.register(tokenRoutes, tenant);
      await api.register(adminRoutes, { orders: services.orders, audit: services.audit, adminToken: config.adminToken, limiter });
      await api.register(contactRoutes, {
        ...tenant,
        contacts: services.contacts,
        notifications: services.notifications,
        clock: services.clock,
        signatureWindowSeconds: config.notify.signatureWindowSeconds,
      });
      await api.register(webhookRoutes, { webhooks: services.webhooks, adminToken: config.adminToken, limiter });
      await api.register(clusterRoutes, { clusters: services.clusters, adminToken: config.adminToken, limiter });
    },
    { prefix: '/api/v1' },
  );

  return app;
}
