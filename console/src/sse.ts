/**
 * Reads a text/event-stream body. EventSource cannot send the `secret` header, so the
 * console fetches the stream itself and parses it here: `data:` lines (joined by
 * newlines) make one event, dispatched at a blank line; `event:` names it; lines
 * starting with ":" are comments (keep-alives).
 */
export interface StreamEvent {
  event: string;
  data: string;
}

export async function readEventStream(stream: ReadableStream<Uint8Array>, onEvent: (e: StreamEvent) => void): Promise<void> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const parser = eventParser(onEvent);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(decoder.decode(value, { stream: true }));
    }
    parser.push(decoder.decode());
    parser.end();
  } finally {
    reader.releaseLock();
  }
}

/** The parser on its own: feed it text in any chunks. */
export function eventParser(onEvent: (e: StreamEvent) => void): { push(text: string): void; end(): void } {
  let buffer = '';
  let event = '';
  let data: string[] = [];
  const dispatch = () => {
    if (data.length) onEvent({ event: event || 'message', data: data.join('\n') });
    event = '';
    data = [];
  };
  const line = (l: string) => {
    if (l === '') return dispatch();
    if (l.startsWith(':')) return;
    const colon = l.indexOf(':');
    const name = colon === -1 ? l : l.slice(0, colon);
    let value = colon === -1 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') data.push(value);
    else if (name === 'event') event = value;
  };
  return {
    push(text) {
      buffer += text;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const l of parts) line(l.endsWith('\r') ? l.slice(0, -1) : l);
    },
    end() {
      if (buffer) line(buffer.endsWith('\r') ? buffer.slice(0, -1) : buffer);
      buffer = '';
      dispatch();
    },
  };
}
