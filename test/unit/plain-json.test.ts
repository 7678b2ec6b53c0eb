import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { ownBytes, sendUnchangingJson } from '../../src/http/plain-json.js';

describe('ownBytes', () => {
  it('holds exactly the text, in memory of its own rather than a slice of the shared pool', () => {
    const text = `{"name":"pod-é","podSpec":"${'x'.repeat(3000)}"}`;
    // The case it exists for: Node hands a text this size a slice of its 8 KB pool.
    assert.equal(Buffer.from(text, 'utf8').buffer.byteLength, Buffer.poolSize);
    const bytes = ownBytes(text);
    assert.equal(bytes.toString('utf8'), text);
    assert.equal(bytes.length, Buffer.byteLength(text, 'utf8'));
    assert.equal(bytes.byteOffset, 0);
    assert.equal(bytes.buffer.byteLength, bytes.length);
  });
});

describe('sendUnchangingJson', () => {
  it('sends a value as its JSON, and the same text again for the same value', async () => {
    const app = Fastify();
    const value = { name: 'p', podStatus: { phase: 'Running' }, note: 'ünïcode' };
    app.get('/', (_req, reply) => sendUnchangingJson(reply, value));
    for (let i = 0; i < 2; i++) {
      const res = await app.inject({ method: 'GET', url: '/' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^application\/json; charset=utf-8/);
      assert.deepEqual(res.json(), value);
      assert.equal(Number(res.headers['content-length']), Buffer.byteLength(JSON.stringify(value)));
    }
    await app.close();
  });
});
