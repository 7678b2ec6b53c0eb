/**
 * The OpenAPI document is valid OpenAPI 3.1, documents every route with its errors,
 * and the checked-in document and SDK types match what the routes generate now.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { repoRoot } from '../../dev/cluster/config.js';
import { formatDocument, generateOpenApiDocument, generateSdkTypes } from '../../src/sdk/generate.js';

interface Operation {
  summary?: string;
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
  security?: unknown[];
}

let doc: Record<string, unknown>;
before(async () => {
  doc = await generateOpenApiDocument();
});

describe('OpenAPI document', () => {
  it('validates against the OpenAPI 3.1 schema', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.equal(validator.version, '3.1');
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2)?.slice(0, 2000));
  });

  it('documents every route with a summary, a success and the error envelope', () => {
    const paths = doc.paths as Record<string, Record<string, Operation>>;
    for (const [path, methods] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(methods)) {
        assert.ok(op.summary, `${method} ${path} has a summary`);
        const codes = Object.keys(op.responses);
        // A WebSocket route's success is its upgrade, 101.
        assert.ok(codes.some((c) => c.startsWith('2') || c === '101'), `${method} ${path} documents its success`);
        if (!path.startsWith('/healthz') && !path.startsWith('/readyz') && !path.endsWith('/logs') && !path.startsWith('/metrics')) {
          assert.ok(codes.some((c) => /^[45]/.test(c)), `${method} ${path} documents its errors`);
        }
      }
    }
    for (const seed of ['/api/v1/k8s/regions', '/api/v1/k8s/images', '/api/v1/k8s/checkports', '/api/v1/k8s/order', '/api/v1/k8s/deploy', '/api/v1/k8s/pod/log', '/api/v1/k8s/pod/status']) {
      assert.ok(paths[seed], `seed endpoint ${seed}`);
    }
    assert.deepEqual(paths['/api/v1/k8s/order']!.get!.security, [{ secret: [] }]);
    assert.deepEqual(paths['/api/v1/admin/orders']!.post!.security, [{ admin: [] }]);
  });

  it('matches the checked-in sdk/openapi.json and src/sdk/api-types.ts (run npm run sdk:generate after changing a route)', async () => {
    assert.equal(await readFile(join(repoRoot, 'sdk', 'openapi.json'), 'utf8'), formatDocument(doc), 'sdk/openapi.json is stale');
    assert.equal(await readFile(join(repoRoot, 'src', 'sdk', 'api-types.ts'), 'utf8'), await generateSdkTypes(doc), 'src/sdk/api-types.ts is stale');
  });
});
