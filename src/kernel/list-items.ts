/**
 * The `items` of a large Kubernetes list (`{"kind":…,"metadata":…,"items":[…]}`), parsed
 * one item at a time with the event loop let in between slices. A single `JSON.parse`
 * of a LIST that cannot be paginated (the metrics API's, some 2 MB at 5,000 pods) held
 * the loop for 20 ms and more: every request arriving meanwhile waited that long. Here
 * the text is scanned for the items' bounds (strings and nesting only, no values
 * built) and each item is handed to `JSON.parse` on its own.
 *
 * A text below `wholeBelowChars` is parsed whole: it costs less than a slice anyway.
 */
import { TimeSlice } from './time-slice.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

export interface ListItemsOptions {
  /** The longest the parse holds the event loop before it lets others in. */
  sliceMs?: number;
  /** Texts shorter than this are parsed with one `JSON.parse`. */
  wholeBelowChars?: number;
}

export async function listItems<T>(text: string, opts: ListItemsOptions = {}): Promise<T[]> {
  if (text.length < (opts.wholeBelowChars ?? 64 * 1024)) return ((JSON.parse(text) as { items?: T[] | null }).items ?? []) as T[];
  const slice = new TimeSlice(opts.sliceMs ?? 5);
  const open = itemsArray(text);
  if (open < 0) return [];
  const items: T[] = [];
  let i = skipSpace(text, open + 1);
  while (i < text.length && text.charCodeAt(i) !== CLOSE_BRACKET) {
    const end = valueEnd(text, i);
    items.push(JSON.parse(text.slice(i, end)) as T);
    i = skipSpace(text, end);
    if (text.charCodeAt(i) === COMMA) i = skipSpace(text, i + 1);
    else if (text.charCodeAt(i) !== CLOSE_BRACKET) throw new SyntaxError(`list items: expected "," or "]" at ${i}`);
    if (slice.spent()) await slice.yield();
  }
  if (i >= text.length) throw new SyntaxError('list items: the items array is not closed');
  return items;
}

/** Where the top-level `"items"` array opens (its `[`), or -1 when it is absent or null. */
function itemsArray(text: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (depth === 1 && end - i === 6 && text.startsWith('"items"', i)) {
        const colon = skipSpace(text, end + 1);
        if (text.charCodeAt(colon) !== COLON) throw new SyntaxError(`list items: expected ":" at ${colon}`);
        const value = skipSpace(text, colon + 1);
        return text.charCodeAt(value) === OPEN_BRACKET ? value : -1;
      }
      i = end;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
  }
  return -1;
}

/** Just past the JSON value that starts at `start` (an object, an array, a string or a bare literal). */
function valueEnd(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(text, i);
      if (depth === 0) return i + 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++;
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 0) return i; // a bare literal's end: the array closes
      if (--depth === 0) return i + 1;
    } else if (depth === 0 && c === COMMA) return i;
  }
  return text.length;
}

/** The index of the quote closing the string that opens at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i;
  }
  throw new SyntaxError(`list items: the string at ${start} is not closed`);
}

function skipSpace(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}
