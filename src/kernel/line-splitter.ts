/**
 * Turns a byte stream into lines of UTF-8 text, whatever its chunking.
 *
 * Lines are cut at the newline byte and each is decoded whole. In UTF-8 the byte 0x0A
 * never occurs inside a multi-byte character, so a character split across two chunks
 * is joined before it is decoded; decoding each chunk on its own (`chunk.toString()`)
 * would turn both halves into U+FFFD. Working on bytes also makes the length cap a
 * byte count, which is what bounds memory.
 *
 * One line holds at most `maxLineBytes` in memory. A longer line is either cut (its
 * first `maxLineBytes`, ending on a whole character, are kept and the rest counted)
 * or refused with `LineTooLongError`, so a stream that never sends a newline cannot
 * grow memory without bound.
 */

export interface Line {
  text: string;
  /** Bytes of the line that were dropped because it was longer than the cap (0 for most). */
  cutBytes: number;
}

export interface LineSplitterOptions {
  maxLineBytes: number;
  /** `cut`: keep the head of an overlong line; `fail`: throw LineTooLongError. */
  overlong: 'cut' | 'fail';
}

export class LineTooLongError extends Error {
  constructor(readonly maxLineBytes: number) {
    super(`a line is longer than ${maxLineBytes} bytes`);
    this.name = 'LineTooLongError';
  }
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export class LineSplitter {
  private pieces: Buffer[] = [];
  private held = 0;
  private cut = 0;

  constructor(private readonly opts: LineSplitterOptions) {
    if (!Number.isInteger(opts.maxLineBytes) || opts.maxLineBytes < 4) throw new RangeError('maxLineBytes must be an integer of at least 4 (one character)');
  }

  /** Bytes of the unfinished line held now (never more than maxLineBytes). */
  get pendingBytes(): number {
    return this.held;
  }

  /** The lines this chunk completes, without their "\n" (or "\r\n"). */
  push(chunk: Uint8Array): Line[] {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: Line[] = [];
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(NEWLINE, start);
      if (nl === -1) {
        this.hold(bytes.subarray(start));
        return out;
      }
      this.hold(bytes.subarray(start, nl));
      out.push(this.take());
      start = nl + 1;
    }
  }

  /** The last line of a stream that ended without a newline, if any. */
  end(): Line[] {
    return this.held > 0 || this.cut > 0 ? [this.take()] : [];
  }

  private hold(bytes: Buffer): void {
    if (bytes.length === 0) return;
    const room = this.opts.maxLineBytes - this.held;
    if (bytes.length <= room) {
      this.pieces.push(bytes);
      this.held += bytes.length;
      return;
    }
    if (this.opts.overlong === 'fail') throw new LineTooLongError(this.opts.maxLineBytes);
    if (room > 0) {
      // A copy: a view would keep the whole chunk alive while the line waits for its end.
      this.pieces.push(Buffer.from(bytes.subarray(0, room)));
      this.held += room;
    }
    this.cut += bytes.length - room;
  }

  private take(): Line {
    let line = this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces, this.held);
    let cutBytes = this.cut;
    if (cutBytes > 0) {
      const whole = wholeCharacters(line);
      cutBytes += line.length - whole;
      line = line.subarray(0, whole);
    } else if (line.length > 0 && line[line.length - 1] === CARRIAGE_RETURN) {
      line = line.subarray(0, line.length - 1);
    }
    this.pieces = [];
    this.held = 0;
    this.cut = 0;
    return { text: line.toString('utf8'), cutBytes };
  }
}

/** How many leading bytes of `b` form whole UTF-8 characters (a cut may end inside one). */
function wholeCharacters(b: Buffer): number {
  let lead = b.length - 1;
  // At most three continuation bytes (10xxxxxx) follow a lead byte.
  while (lead >= 0 && b.length - lead <= 3 && (b[lead]! & 0xc0) === 0x80) lead--;
  if (lead < 0) return b.length;
  const first = b[lead]!;
  const size = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
  return b.length - lead >= size ? b.length : lead;
}
