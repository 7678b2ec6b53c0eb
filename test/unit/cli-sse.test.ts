/** The SSE reader behind `vkube logs -f`: lines split anywhere across chunks, comments, named events. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseParser } from '../../src/cli/sse.js';

describe('SseParser', () => {
  it('returns data lines as they complete, whatever the chunking', () => {
    const text = ': keep-alive\n\ndata: first line\n\ndata: \n\ndata:  two spaces\r\n\r\nevent: end\ndata: the container stopped\n\n';
    const whole = new SseParser().push(text);
    const bytewise = new SseParser();
    const pieces = [...text].flatMap((ch) => bytewise.push(ch));
    const expected = [
      { event: 'message', data: 'first line' },
      { event: 'message', data: '' },
      { event: 'message', data: ' two spaces' },
      { event: 'end', data: 'the container stopped' },
    ];
    assert.deepEqual(whole, expected);
    assert.deepEqual(pieces, expected);
  });

  it('joins multi-line data and flushes an unterminated last event at the end', () => {
    const p = new SseParser();
    assert.deepEqual(p.push('data: a\ndata: b\n\ndata: tail'), [{ event: 'message', data: 'a\nb' }]);
    assert.deepEqual(p.end(), [{ event: 'message', data: 'tail' }]);
  });
});
