/**
 * `vkube`: the customer's and the provider's command-line tool for V-Kube. This file
 * only wires the commands (commands/*.ts) and turns every outcome into an exit code
 * (errors.ts); bin/vkube.js runs it.
 */
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerAdmin } from './commands/admin.js';
import { registerDeploy } from './commands/deploy.js';
import { registerExec } from './commands/exec.js';
import { registerInfo } from './commands/info.js';
import { registerLogin } from './commands/login.js';
import { registerPod } from './commands/pod.js';
import { registerHistory } from './commands/history.js';
import { registerTop } from './commands/top.js';
import { registerPortForward } from './commands/port-forward.js';
import { EXIT_CODES_HELP, ExitCode, toCliError, usageError } from './errors.js';
import { Output } from './output.js';
import { CommandExit } from './pod-socket.js';

const ROOT_HELP = `
Log in once with the secret of your order, then deploy and look after your pod:
  $ vkube login --server https://vkube.example.com --secret <secret>
  $ vkube regions
  $ vkube deploy -f VKubefile.yaml
  $ vkube status
  $ vkube logs -f

Every command takes --server and --secret (or VKUBE_SERVER and VKUBE_SECRET), which
override the saved login, and --json, which prints exactly one JSON document on stdout
(errors as {"error":{"code","message","exitCode"}}). Progress and warnings go to stderr.

Environment:
  VKUBE_SERVER       V-Kube base URL
  VKUBE_SECRET       the order's secret (or the original clients' token)
  VKUBE_ADMIN_TOKEN  the provider's admin token, for \`vkube admin\` (never saved)
  VKUBE_CONFIG_DIR   where the login is saved (default $XDG_CONFIG_HOME/vkube or ~/.config/vkube)

${EXIT_CODES_HELP}
`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function buildProgram(out: Output): Command {
  const program = new Command('vkube')
    .description('Deploy and run containers on V-Kube, and (for providers) sell orders.')
    .version(version(), '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    // Commander's own exits become exceptions, so main() decides the exit code (2 for usage).
    .exitOverride()
    // With --json, stderr stays quiet: the error document on stdout says it all.
    .configureOutput({ writeErr: (text) => (out.json ? undefined : process.stderr.write(text)) })
    .addHelpText('after', ROOT_HELP);
  registerLogin(program, out);
  registerInfo(program, out);
  registerDeploy(program, out);
  registerPod(program, out);
  registerExec(program, out);
  registerPortForward(program, out);
  registerTop(program, out);
  registerHistory(program, out);
  registerAdmin(program, out);
  return program;
}

/** Runs one command line; resolves to the exit code. Never throws. */
export async function main(argv: string[]): Promise<number> {
  const out = new Output(argv.includes('--json'));
  // `vkube logs | head` closes the pipe early: that is a normal end, not a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(ExitCode.ok);
  });
  try {
    await buildProgram(out).parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    // `vkube exec`: the command ran, and its exit code is ours.
    if (err instanceof CommandExit) return err.code;
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return ExitCode.ok;
      // Commander has printed its message already (except with --json, where it is ours to print).
      if (out.json) out.error(usageError(err.message.replace(/^error: /, '')));
      return ExitCode.usage;
    }
    const failure = toCliError(err);
    out.error(failure);
    return failure.exitCode;
  }
}
