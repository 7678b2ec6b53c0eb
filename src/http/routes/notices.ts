/** Notices (expiry warnings, …) for a wallet address: the original clients' `GET /k8s/notice`, no secret. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { NoticeStore } from '../../domain/store-port.js';
import { InputError } from '../../kernel/errors.js';
import { errorResponses, validatedByDomain } from '../schemas.js';

export interface NoticeRouteDeps {
  notices: NoticeStore;
}

export const noticeRoutes: FastifyPluginAsyncTypebox<NoticeRouteDeps> = async (app, deps) => {
  app.get(
    '/k8s/notice',
    {
      schema: {
        summary: 'Notices (expiry warnings, …) for an address',
        tags: ['clients'],
        headers: Type.Object({ address: Type.Optional(Type.String()) }),
        querystring: Type.Object({ current: Type.Optional(Type.String()), pageSize: Type.Optional(Type.String()), serviceID: Type.Optional(Type.String()) }),
        response: {
          200: Type.Object({
            list: Type.Array(Type.Object({ timestamp: Type.Integer(), serviceID: Type.String(), noticeType: Type.String() })),
            pagination: Type.Object({ total: Type.Integer(), current: Type.Integer(), pageSize: Type.Integer() }),
          }),
          ...errorResponses(400),
        },
      },
      ...validatedByDomain,
    },
    async (request) => {
      const address = request.headers.address;
      if (typeof address !== 'string' || !address) throw new InputError('required: the address whose notices to list', 'address');
      const q = (request.query ?? {}) as Record<string, string | undefined>;
      const current = positive(q.current, 'current', 1, 1e6);
      const pageSize = positive(q.pageSize, 'pageSize', 10, 100);
      const page = await deps.notices.listNotices({ address, ...(q.serviceID ? { serviceID: q.serviceID } : {}), limit: pageSize, offset: (current - 1) * pageSize });
      return {
        list: page.items.map((n) => ({ timestamp: n.timestamp, serviceID: n.serviceID, noticeType: n.noticeType })),
        pagination: { total: page.total, current, pageSize },
      };
    },
  );
};

function positive(value: string | undefined, field: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw new InputError(`must be an integer from 1 to ${max}`, field);
  return Number(value);
}
