/** What every `vkube` command shares: the common options, examples in --help, argument parsers. */
import { type Command, InvalidArgumentError, Option } from 'commander';

export interface CommonOptions {
  server?: string;
  secret?: string;
  json?: boolean;
}

/** `--server`, `--secret` (unless the command never uses one) and `--json`. */
export function withCommonOptions(cmd: Command, opts: { secret?: boolean } = {}): Command {
  cmd.addOption(new Option('--server <url>', 'V-Kube base URL (default: the saved login)').env('VKUBE_SERVER'));
  if (opts.secret !== false) {
    cmd.addOption(new Option('--secret <secret>', "the order's secret or the clients' token (default: the saved login)").env('VKUBE_SECRET'));
  }
  cmd.option('--json', 'print exactly one JSON document on stdout (errors too)');
  return cmd;
}

/** Adds an "Examples:" block to the command's --help. */
export function examples(cmd: Command, lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => (l.startsWith('#') ? `  ${l}` : `  $ ${l}`)).join('\n')}`);
}

/** A commander argument parser for whole numbers in a range (bad values are usage errors). */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
  return (value) => {
    const n = Number(value.trim());
    if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number ${range}`);
    return n;
  };
}

/** `90`, `90s`, `5m`, `2h` → seconds. */
export function durationArg(value: string): number {
  const m = /^(\d+)\s*(s|m|h)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be a duration such as 90, 90s, 5m or 2h');
  return Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
}
