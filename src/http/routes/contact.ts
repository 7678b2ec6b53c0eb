/**
 * The original market CLI's contact API (`/api/v1/contact/…`): the e-mail address that
 * notices go to, bound to a service with its secret (`userServiceContact`) or to a
 * wallet with a request the wallet signed (`addressContact`). Binding takes a 6-digit
 * code mailed to the address.
 *
 * Signed requests are verified over the bytes received (the body's hash is part of the
 * signature), so this plugin reads bodies as text itself; each signature is accepted
 * once within its time window.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Authenticator } from '../../domain/authenticator.js';
import type { Clock } from '../../kernel/clock.js';
import { AuthenticationError } from '../../kernel/errors.js';
import type { ContactService } from '../../domain/notify/contacts.js';
import { SignatureRefused, verifyWalletRequest } from '../../domain/notify/wallet-signature.js';
import type { ContactOwner, NotificationStore } from '../../domain/notify/store-port.js';
import { SecretHeader, orderOf, tenantAuth } from '../auth.js';
import type { ClientLimiter } from '../client-limiter.js';
import { errorResponses, validatedByDomain } from '../schemas.js';
import { ContactBody, VerifyBody } from '../body-schemas.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as received (contact routes only): what a wallet signature covers. */
    rawBody?: string;
  }
}

export interface ContactRouteDeps {
  auth: Authenticator;
  limiter: ClientLimiter;
  contacts: ContactService;
  /** Keeps the signatures seen, to refuse replays. */
  notifications: NotificationStore;
  clock: Clock;
  signatureWindowSeconds: number;
}

const Sent = Type.Object({
  status: Type.Literal('OK'),
  type: Type.Literal('email'),
  contact: Type.String(),
  expiresAt: Type.Integer({ description: 'unix seconds; the code works until then, for 5 attempts' }),
});
const Bound = Type.Object({ status: Type.Literal('OK'), type: Type.Literal('email'), contact: Type.String() });
const Deleted = Type.Object({ status: Type.Literal('OK'), deleted: Type.Boolean({ description: 'false: no address was bound' }) });
const WalletHeaders = Type.Object({
  address: Type.String({ description: 'the V Systems address of public-key' }),
  'public-key': Type.String({ description: 'base58 Curve25519 public key' }),
  signature: Type.String({ description: 'base64 XEdDSA signature of sha256("HMAC-SHA256" + x-sdk-time + hex sha256(canonical request)), as the market CLI signs' }),
  'x-sdk-time': Type.String({ description: 'unix seconds; within VKUBE_SIGNATURE_WINDOW_SECONDS (300) of the server' }),
  'user-agent': Type.Optional(Type.String({ description: 'part of the canonical request' })),
});
const signedDescription =
  'Signed by the wallet as the original market CLI signs: the canonical request is METHOD, the path from /api/v1, the query parts, `User-Agent:…`, `address:…` ' +
  'and (except for a GET without body) the hex sha256 of the body bytes, one per line. A signature is accepted once (a replay is 401).';

export const contactRoutes: FastifyPluginAsyncTypebox<ContactRouteDeps> = async (app, deps) => {
  // Every body as text first, kept for the signature, then parsed as JSON.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = String(body);
    request.rawBody = text;
    if (!text.trim()) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new Error('body is not valid JSON'), { statusCode: 400, code: 'FST_ERR_CTP_INVALID_JSON_BODY' }), undefined);
    }
  });

  // --- bound to a service: the order's secret -------------------------------------
  await app.register(async (svc) => {
    svc.addHook('preHandler', tenantAuth(deps.auth, deps.limiter));
    svc.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, security: [{ secret: [] }] };
    });
    const tags = ['clients'];
    const owner = (request: FastifyRequest): ContactOwner => ({ kind: 'service', id: orderOf(request).id });

    svc.post(
      '/contact/userServiceContact/bind/sendCode',
      {
        schema: { summary: "Mail a code to bind an e-mail address to this service's notices", tags, headers: SecretHeader, body: ContactBody, response: { 200: Sent, ...errorResponses(400, 401, 429, 503) } },
        ...validatedByDomain,
      },
      async (request) => ({ status: 'OK' as const, ...(await deps.contacts.sendCode(owner(request), request.body)) }),
    );
    svc.post(
      '/contact/userServiceContact/bind/verifyCode',
      {
        schema: { summary: 'Bind the e-mail address with the code that was mailed to it', tags, headers: SecretHeader, body: VerifyBody, response: { 200: Bound, ...errorResponses(400, 401) } },
        ...validatedByDomain,
      },
      async (request) => ({ status: 'OK' as const, ...(await deps.contacts.verifyCode(owner(request), request.body)) }),
    );
    svc.post(
      '/contact/userServiceContact/delete/email',
      { schema: { summary: "Unbind this service's e-mail address", tags, headers: SecretHeader, response: { 200: Deleted, ...errorResponses(401) } }, ...validatedByDomain },
      async (request) => ({ status: 'OK' as const, deleted: await deps.contacts.delete(owner(request)) }),
    );
  });

  // --- bound to a wallet: a signed request ----------------------------------------
  await app.register(async (wallet) => {
    wallet.addHook('preHandler', async (request) => {
      const header = (name: string) => {
        const v = request.headers[name];
        return Array.isArray(v) ? v[0] : v;
      };
      try {
        const verified = verifyWalletRequest(
          {
            method: request.method,
            url: request.url,
            rawBody: request.rawBody,
            address: header('address'),
            publicKey: header('public-key'),
            signature: header('signature'),
            time: header('x-sdk-time'),
            userAgent: header('user-agent'),
          },
          deps.clock.now(),
          deps.signatureWindowSeconds,
        );
        const fresh = await deps.notifications.useSignature(verified.signatureHash, verified.time + deps.signatureWindowSeconds + 1, deps.clock.now());
        if (!fresh) throw new SignatureRefused('signature', 'was used already (a replay); sign every request anew');
        walletOf.set(request, verified.address);
        deps.limiter.recordSuccess(request.ip);
      } catch (err) {
        if (!(err instanceof SignatureRefused)) throw err;
        deps.limiter.recordFailure(request.ip);
        throw new AuthenticationError(err.message);
      }
    });
    wallet.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, security: [{ wallet: [] }] };
    });
    const tags = ['clients'];
    const owner = (request: FastifyRequest): ContactOwner => {
      const address = walletOf.get(request);
      if (!address) throw new AuthenticationError('the request is not signed');
      return { kind: 'address', id: address };
    };

    wallet.get(
      '/contact/addressContact/get',
      {
        schema: {
          summary: "The e-mail address bound to the signing wallet's notices",
          description: signedDescription,
          tags,
          headers: WalletHeaders,
          response: { 200: Type.Object({ address: Type.String(), type: Type.Literal('email'), contact: Type.String({ description: '"" when none is bound' }), email: Type.String({ description: 'the same as contact' }) }), ...errorResponses(401) },
        },
        ...validatedByDomain,
      },
      async (request) => {
        const o = owner(request);
        const contact = (await deps.contacts.get(o))?.contact ?? '';
        return { address: o.id, type: 'email' as const, contact, email: contact };
      },
    );
    wallet.post(
      '/contact/addressContact/bind/sendCode',
      {
        schema: { summary: "Mail a code to bind an e-mail address to the signing wallet's notices", description: signedDescription, tags, headers: WalletHeaders, body: ContactBody, response: { 200: Sent, ...errorResponses(400, 401, 429, 503) } },
        ...validatedByDomain,
      },
      async (request) => ({ status: 'OK' as const, ...(await deps.contacts.sendCode(owner(request), request.body)) }),
    );
    wallet.post(
      '/contact/addressContact/bind/verifyCode',
      {
        schema: { summary: 'Bind the e-mail address to the signing wallet with the code that was mailed', description: signedDescription, tags, headers: WalletHeaders, body: VerifyBody, response: { 200: Bound, ...errorResponses(400, 401) } },
        ...validatedByDomain,
      },
      async (request) => ({ status: 'OK' as const, ...(await deps.contacts.verifyCode(owner(request), request.body)) }),
    );
    wallet.post(
      '/contact/addressContact/delete/email',
      { schema: { summary: "Unbind the signing wallet's e-mail address", description: signedDescription, tags, headers: WalletHeaders, response: { 200: Deleted, ...errorResponses(401) } }, ...validatedByDomain },
      async (request) => ({ status: 'OK' as const, deleted: await deps.contacts.delete(owner(request)) }),
    );
  });
};

/** The wallet a request's signature proved, set by the wallet routes' preHandler. */
const walletOf = new WeakMap<FastifyRequest, string>();

