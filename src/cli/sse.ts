/**
 * A Server-Sent Events reader for `GET /k8s/pod/logs`: feed it text as it arrives,
 * get whole events back. Follows the HTML spec's parsing rules that matter here:
 * `data:` lines of one event join with "\n", `event:` names it, `:` lines are
 * comments (V-Kube's keep-alives), a blank line ends the event, one space after the
 * colon is dropped. An empty `data:` line is an empty log line, and is kept.
 */
export interface SseEvent {
  /** `message` unless the stream named it (`end`, `error`). */
  event: string;
  data: string;
}

export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';

  /** The events completed by this chunk. */
  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const nl = this.buffer.search(/\r\n|\r|\n/);
      if (nl === -1) break;
      const line = this.buffer.slice(0, nl);
      const eol = this.buffer.startsWith('\r\n', nl) ? 2 : 1;
      // A lone "\r" at the very end may be the first half of "\r\n": wait for more.
      if (eol === 1 && this.buffer[nl] === '\r' && nl === this.buffer.length - 1) break;
      this.buffer = this.buffer.slice(nl + eol);
      const event = this.line(line);
      if (event) out.push(event);
    }
    return out;
  }

  /** Whatever a stream that ended without a final blank line still held. */
  end(): SseEvent[] {
    const out = this.buffer ? this.push('\n') : [];
    const last = this.line('');
    return last ? [...out, last] : out;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return undefined;
      }
      const event = { event: this.event || 'message', data: this.data.join('\n') };
      this.data = [];
      this.event = '';
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    return undefined;
  }
}
