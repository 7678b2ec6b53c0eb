/**
 * `vkube exec [-c container] [-i] [-t] -- cmd args…`: runs a command in the pod.
 *
 * It speaks the interactive exec WebSocket (`GET /k8s/pod/exec`, v5.channel.k8s.io), not
 * the one-shot POST, even without a terminal: output streams as the command writes it (a
 * long build, `tail -f`), has no size cap and no time limit, and stdin is streamed as
 * bytes of any length (the POST takes it as one UTF-8 string inside a JSON body). With
 * --json it uses the one-shot POST instead, whose answer is the JSON document.
 *
 * The command's exit code is the CLI's. Errors before the command runs (not logged in,
 * nothing deployed, exec turned off, too many sessions) keep `vkube`'s own codes.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type WebSocket from 'ws';
import { closeFrame, EXEC_PROTOCOL, exitStatus, frame, resizeFrame, STATUS, STDERR, STDIN, STDOUT } from '../../kernel/stream-channels.js';
import { connect } from '../api.js';
import { type CommonOptions, durationArg, examples, withCommonOptions } from '../command-kit.js';
import { resolveLogin } from '../credentials.js';
import { CliError, ExitCode } from '../errors.js';
import type { Output } from '../output.js';
import { closeText, CommandExit, messageBuffer, openPodSocket } from '../pod-socket.js';

interface ExecOptions extends CommonOptions {
  container?: string;
  stdin?: boolean;
  tty?: boolean;
  timeout?: number;
}

/** Above this much queued toward V-Kube, stdin is no longer read until it drains. */
const HIGH_WATER = 1024 * 1024;
/** Exit codes a shell gives when a command could not run (126) or was not found (127). */
const CANNOT_RUN = 126;
const NOT_FOUND = 127;
/** A command cut off by --timeout (with --json), as coreutils' `timeout` says it. */
const TIMED_OUT = 124;

export function registerExec(program: Command, out: Output): void {
  const cmd = withCommonOptions(
    program
      .command('exec')
      .description("run a command in the pod's container; its exit code is vkube's")
      .argument('<command...>', 'the program and its arguments; put them after -- (vkube exec -- ls -l /)')
      .option('-c, --container <name>', 'which container (default: the first)')
      .option('-i, --stdin', "pass this terminal's input to the command (piped input is always passed)")
      .option('-t, --tty', 'run the command on a terminal: a raw terminal here, resized with this window (use with -i)')
      .option('--timeout <duration>', 'with --json only: stop the command after this long (default 30s)', durationArg),
  );
  examples(cmd, [
    'vkube exec -- ls -l /',
    'vkube exec -c web -- cat /etc/nginx/nginx.conf',
    'vkube exec -it -- sh',
    'tar c site | vkube exec -- tar x -C /srv',
    "vkube exec --json -- sh -c 'echo $HOSTNAME'",
  ]);
  cmd.addHelpText(
    'after',
    '\nThe exit code is the command\'s own; vkube\'s codes (see `vkube --help`) mean it could not run.\n' +
      'With -t, Ctrl-C and Ctrl-D go to the command, not to vkube; the terminal is restored when it ends.\n' +
      'With --json the command runs through the one-shot API: one {"stdout","stderr","exitCode",…} document,\n' +
      'each output cut at the server\'s cap (1 MiB by default), stdin only from a pipe.\n',
  );
  cmd.action(async (command: string[], opts: ExecOptions) => {
    const login = await resolveLogin(opts);
    const code = opts.json ? await runOneShot(login, command, opts, out) : await runStreaming(login, command, opts, out);
    if (code !== 0) throw new CommandExit(code);
  });
}

/** --json: `POST /k8s/pod/exec`, the answer printed as it is. */
async function runOneShot(login: { server: string; secret: string }, command: string[], opts: ExecOptions, out: Output): Promise<number> {
  if (opts.tty) throw new CliError('--json and -t do not go together: a terminal is a live session', ExitCode.usage);
  const stdin = process.stdin.isTTY ? undefined : await readFile('/dev/stdin', 'utf8').catch(() => undefined);
  const api = connect(login.server, { secret: login.secret });
  const body = { command, ...(opts.container ? { container: opts.container } : {}), ...(stdin ? { stdin } : {}), ...(opts.timeout ? { timeoutSeconds: opts.timeout } : {}) };
  const answer = await api.call(api.client.POST('/api/v1/k8s/pod/exec', { body }));
  out.result(answer, () => undefined);
  if (answer.timedOut) return TIMED_OUT;
  return answer.exitCode ?? CANNOT_RUN;
}

/** The WebSocket session: stdin up, stdout and stderr down, the exit status at the end. */
async function runStreaming(login: { server: string; secret: string }, command: string[], opts: ExecOptions, out: Output): Promise<number> {
  const input = process.stdin;
  let tty = opts.tty === true;
  if (tty && !input.isTTY) {
    out.warn('-t: the input is not a terminal, so the command runs without one');
    tty = false;
  }
  // Piped input always goes to the command (`tar c | vkube exec -- tar x`); a terminal's when asked (-i, or -t).
  const withStdin = opts.stdin === true || tty || !input.isTTY;
  const query: Array<[string, string]> = [...command.map((arg): [string, string] => ['command', arg]), ['stdin', String(withStdin)], ['tty', String(tty)]];
  if (opts.container) query.push(['container', opts.container]);
  const ws = await openPodSocket({ server: login.server, secret: login.secret, path: '/api/v1/k8s/pod/exec', query, protocols: [EXEC_PROTOCOL] });

  const restoreTerminal = tty ? rawTerminal() : () => undefined;
  try {
    return await relay(ws, { withStdin, tty });
  } finally {
    restoreTerminal();
  }
}

/** Raw mode on the local terminal (keys go to the remote one as typed); the returned function undoes it, once. */
function rawTerminal(): () => void {
  const input = process.stdin;
  input.setRawMode(true);
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    if (input.isTTY) input.setRawMode(false);
  };
  // Whatever ends the process (a bug, process.exit elsewhere), the terminal is given back.
  process.on('exit', restore);
  return restore;
}

function relay(ws: WebSocket, opts: { withStdin: boolean; tty: boolean }): Promise<number> {
  const input = process.stdin;
  const output = process.stdout;
  return new Promise<number>((resolve, reject) => {
    let status: ReturnType<typeof exitStatus> | undefined;
    let stdinPaused = false;

    const sendResize = () => {
      const size = output.isTTY ? output : input.isTTY ? (input as unknown as { columns?: number; rows?: number }) : undefined;
      if (size?.columns && size.rows) ws.send(resizeFrame(size.columns, size.rows));
    };
    const onData = (chunk: Buffer) => {
      ws.send(frame(STDIN, chunk), () => {
        if (stdinPaused && ws.bufferedAmount < HIGH_WATER / 4) {
          stdinPaused = false;
          input.resume();
        }
      });
      if (!stdinPaused && ws.bufferedAmount > HIGH_WATER) {
        stdinPaused = true;
        input.pause();
      }
    };
    // End of input (v5's half-close): `cat`, `wc`, a shell reading a script see it end.
    const onEnd = () => ws.readyState === ws.OPEN && ws.send(closeFrame(STDIN));
    // Without a terminal, Ctrl-C (and a kill) ends the session here, and vkube exits as a shell reports that signal.
    let interrupted: number | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      interrupted ??= 128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15);
      ws.close(1000);
    };

    const write = (stream: NodeJS.WriteStream, data: Buffer) => {
      if (!stream.write(data)) {
        ws.pause();
        stream.once('drain', () => ws.resume());
      }
    };
    ws.on('message', (raw) => {
      const message = messageBuffer(raw);
      const channel = message[0];
      const data = message.subarray(1);
      if (channel === STDOUT) write(output, data);
      else if (channel === STDERR) write(process.stderr, data);
      else if (channel === STATUS) status = exitStatus(data);
    });
    ws.on('error', () => ws.terminate());
    ws.once('close', (code: number, reason: Buffer) => {
      input.off('data', onData);
      input.off('end', onEnd);
      output.off('resize', sendResize);
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
      input.pause();
      if (status) {
        if (status.exitCode !== null) return resolve(status.exitCode);
        // Kubernetes could not start it (`executable file not found`): say so, as a shell would.
        process.stderr.write(`${opts.tty ? '\r\n' : ''}error: the command could not run: ${status.message ?? 'no exit status'}\n`);
        return resolve(/not found|no such file/i.test(status.message ?? '') ? NOT_FOUND : CANNOT_RUN);
      }
      if (interrupted !== undefined) return resolve(interrupted);
      reject(new CliError(`the session ended before the command did: ${closeText(code, reason.toString('utf8'))}`, code === 1008 ? ExitCode.conflict : ExitCode.unavailable));
    });

    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);
    if (opts.tty) {
      sendResize();
      output.on('resize', sendResize);
    }
    if (opts.withStdin) {
      input.on('data', onData);
      input.once('end', onEnd);
      input.resume();
    }
    ws.resume();
  });
}
