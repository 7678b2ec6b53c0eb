/**
 * How `vkube` talks: human text by default (aligned tables, relative times), or with
 * --json exactly one JSON document on stdout — the result, or `{"error":{…}}`.
 * Progress and warnings go to stderr so stdout stays clean for pipes.
 */
import type { CliError } from './errors.js';

export interface Writer {
  write(text: string): unknown;
}

export class Output {
  private resultWritten = false;

  constructor(
    readonly json: boolean,
    private readonly stdout: Writer = process.stdout,
    private readonly stderr: Writer = process.stderr,
  ) {}

  /** A human line on stdout; nothing with --json. */
  print(text = ''): void {
    if (!this.json) this.stdout.write(`${text}\n`);
  }

  /** Text as it is (a log) on stdout, ending in a newline; nothing with --json. */
  text(text: string): void {
    if (!this.json && text) this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Progress on stderr; nothing with --json (scripts read the final document). */
  progress(text: string): void {
    if (!this.json) this.stderr.write(`${text}\n`);
  }

  /** Warnings always reach stderr; with --json they are also in the document. */
  warn(text: string): void {
    this.stderr.write(`warning: ${text}\n`);
  }

  /** The command's result: `data` as JSON with --json, else whatever `human` prints. */
  result(data: unknown, human: () => void): void {
    if (this.json) {
      this.writeJson(data);
    } else {
      human();
    }
  }

  /** A streamed item (`logs -f --json`): one JSON object per line. */
  jsonLine(data: unknown): void {
    this.stdout.write(`${JSON.stringify(data)}\n`);
  }

  /** A failure: `{"error":…}` on stdout with --json, `error: …` on stderr otherwise. */
  error(err: CliError): void {
    if (this.json) {
      if (!this.resultWritten) this.writeJson(err.toJSON());
    } else {
      this.stderr.write(`error: ${err.message}\n`);
    }
  }

  private writeJson(data: unknown): void {
    this.resultWritten = true;
    this.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  }
}

/** Columns padded to their widest cell; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `Label   value` lines; rows without a value are left out. */
export function fields(pairs: Array<[string, string | undefined]>): string {
  const shown = pairs.filter((p): p is [string, string] => p[1] !== undefined && p[1] !== '');
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}

/** 90 → "1m 30s", 7200 → "2h", 90000 → "1d 1h": the two largest units. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const parts: Array<[number, string]> = [
    [Math.floor(s / 86400), 'd'],
    [Math.floor((s % 86400) / 3600), 'h'],
    [Math.floor((s % 3600) / 60), 'm'],
    [s % 60, 's'],
  ];
  const first = parts.findIndex(([n]) => n > 0);
  if (first === -1) return '0s';
  return parts
    .slice(first, first + 2)
    .filter(([n]) => n > 0)
    .map(([n, u]) => `${n}${u}`)
    .join(' ');
}

/** A unix time relative to now: "in 23h 59m", "5m 2s ago", "just now". */
export function relativeTime(unixSeconds: number, nowMs: number = Date.now()): string {
  const delta = unixSeconds - nowMs / 1000;
  if (Math.abs(delta) < 1) return 'just now';
  return delta > 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

/** "2025-06-01 12:00:00 UTC" — unambiguous, whatever the reader's time zone. */
export function absoluteTime(unixSeconds: number): string {
  return `${new Date(unixSeconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '')} UTC`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** What a deploy or rollback recorded: each container, its image and its ports (`80/TCP → host 8080`). */
export function containersTable(containers: ReadonlyArray<{ name: string; image: string; ports: ReadonlyArray<{ containerPort: number; protocol: string; hostPort?: number }> }>): string {
  return table(
    ['CONTAINER', 'IMAGE', 'PORTS'],
    containers.map((c) => [c.name, c.image, c.ports.map((p) => `${p.containerPort}/${p.protocol}${p.hostPort ? ` → host ${p.hostPort}` : ''}`).join(', ') || '-']),
  );
}
