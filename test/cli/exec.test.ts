/**
 * `vkube exec` and `vkube port-forward`, the real `bin/vkube.js` as a child process,
 * against a real V-Kube process and a container on the real node (region laima):
 * stdout, stderr and the exit code of a command, piped stdin, --json, clear errors; an
 * interactive shell (`exec -it -- sh`) under a pseudo-terminal (a small Python pty
 * driver: typing, resize on start and on SIGWINCH, Ctrl-C and Ctrl-D reaching the remote
 * shell, the terminal restored); and an HTTP request through `port-forward` to the
 * container's httpd. Skips, saying why, without a real node.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '../../dev/cluster/config.js';
import { eventually } from '../helpers/eventually.js';
import { httpGet, pushAppImage, realNodeOrSkip, testHostPort } from '../helpers/real-node.js';
import { type ServerProcess, startServerProcess } from '../helpers/server.js';

const { node, skip } = await realNodeOrSkip();
const BIN = join(repoRoot, 'bin', 'vkube.js');
const TOKEN = `cli-exec-${Date.now().toString(36)}`;

let server: ServerProcess;
let order: { id: string; secret: string };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['VKUBE_SERVER', 'VKUBE_SECRET', 'VKUBE_ADMIN_TOKEN', 'VKUBE_CONFIG_DIR', 'XDG_CONFIG_HOME']) delete env[k];
  return { ...env, VKUBE_SERVER: server.url, VKUBE_SECRET: order.secret, VKUBE_CONFIG_DIR: join(repoRoot, '.vkube', 'no-login'), ...extra };
}

/** `vkube args…` to its end; `input` is piped to its stdin (else stdin is /dev/null). */
function vkube(args: string[], opts: { input?: string | Buffer; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: repoRoot, env: cliEnv(opts.env), stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`vkube ${args.join(' ')} did not finish in time\n${stdout}\n${stderr}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs argv on a pseudo-terminal and relays it: what the terminal shows comes out on
 * stdout; JSON lines on stdin type into it (`{"input":"…"}`) or resize it
 * (`{"rows":…,"cols":…}`, which sends SIGWINCH to its foreground process). Exits with
 * the child's exit code.
 */
const PTY_DRIVER = String.raw`
import fcntl, json, os, pty, select, struct, sys, termios
argv = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
def size(rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
size(30, 100)
inputs = [fd, 0]
pending = b''
while True:
    ready, _, _ = select.select(inputs, [], [])
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
    if 0 in ready:
        chunk = os.read(0, 65536)
        if not chunk:
            inputs = [fd]
        pending += chunk
        while b'\n' in pending:
            line, pending = pending.split(b'\n', 1)
            cmd = json.loads(line)
            if 'input' in cmd:
                os.write(fd, cmd['input'].encode())
            else:
                size(cmd['rows'], cmd['cols'])
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
`;

class Terminal {
  screen = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(script: string) {
    this.child = spawn('python3', ['-c', PTY_DRIVER, JSON.stringify(['sh', '-c', script])], { cwd: repoRoot, env: cliEnv() });
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => (this.screen += d));
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => (this.screen += d));
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
  }

  type(text: string): void {
    this.child.stdin.write(`${JSON.stringify({ input: text })}\n`);
  }

  resize(rows: number, cols: number): void {
    this.child.stdin.write(`${JSON.stringify({ rows, cols })}\n`);
  }

  /** Waits until the screen (from `from` on) matches. */
  async see(pattern: RegExp, from = 0): Promise<void> {
    await eventually(() => assert.match(this.screen.slice(from), pattern), { timeoutMs: 20_000, intervalMs: 50 });
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** The shell line the terminal runs: vkube, then whether the terminal's settings are as before, then vkube's exit code. */
function underTerminal(args: string): string {
  return `before=$(stty -g); '${process.execPath}' '${BIN}' ${args}; code=$?; if [ "$(stty -g)" = "$before" ]; then echo TERMINAL-RESTORED; fi; echo "VKUBE-EXIT=$code"`;
}

describe('vkube exec and port-forward on the real node', { skip, timeout: 600_000 }, () => {
  before(async () => {
    const n = node!;
    server = await startServerProcess({ VKUBE_UNIT_MEMORY: '64Mi', VKUBE_UNIT_CPU: '250m' });
    const { image } = await pushAppImage(n);
    order = await server.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: n.region } });
    const deploy = await fetch(`${server.url}/api/v1/k8s/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', secret: order.secret },
      body: JSON.stringify({ nodeSelector: { region: n.region }, containers: [{ name: 'app', imageName: image, ports: [{ containerPort: 80, hostPort: testHostPort() }], resource: { memory: '64Mi' }, args: TOKEN }] }),
    });
    assert.equal(deploy.status, 200, await deploy.text());
    await eventually(
      async () => {
        const s = (await (await fetch(`${server.url}/api/v1/k8s/pod/status`, { headers: { secret: order.secret } })).json()) as { podStatus?: { phase?: string; containerStatuses?: Array<{ ready: boolean }> } };
        assert.equal(s.podStatus?.phase, 'Running');
        assert.equal(s.podStatus?.containerStatuses?.[0]?.ready, true);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
  });

  after(async () => {
    if (order) await fetch(`${server.url}/api/v1/admin/orders/${order.id}/abort`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}` } }).catch(() => undefined);
    await server?.stop();
  });

  it('exec: stdout and stderr where they belong, the exit code as its own', async () => {
    const r = await vkube(['exec', '--', 'sh', '-c', 'echo "out $((6*7))"; echo err >&2; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'out 42\n');
    assert.equal(r.stderr, 'err\n');

    const ok = await vkube(['exec', '-c', 'app', '--', 'cat', '/www/index.html']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`token=${TOKEN}`));
  });

  it('exec: piped stdin reaches the command, which sees it end; binary bytes pass unchanged', async () => {
    const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
    const r = await vkube(['exec', '--', 'sh', '-c', 'wc -c; echo done'], { input: bytes });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split(/\s+/).join(' '), `${bytes.length} done`);
    const echo = await vkube(['exec', '--', 'sh', '-c', 'cat | tr a-z A-Z'], { input: 'héllo\n' });
    assert.equal(echo.stdout, 'HéLLO\n');
  });

  it('exec --json: the one-shot answer as one document, its exit code as the CLI\'s', async () => {
    const r = await vkube(['exec', '--json', '--', 'sh', '-c', 'echo hi; exit 4']);
    assert.equal(r.code, 4);
    const doc = JSON.parse(r.stdout) as { stdout: string; exitCode: number; timedOut: boolean };
    assert.equal(doc.stdout, 'hi\n');
    assert.equal(doc.exitCode, 4);
    assert.equal(doc.timedOut, false);
  });

  it('exec: clear errors for an unknown container, a missing program, no login, and another order', async () => {
    const container = await vkube(['exec', '-c', 'nope', '--', 'true']);
    assert.equal(container.code, 4, 'not found');
    assert.match(container.stderr, /^error: no container "nope" in the pod; it has app\n$/);
    const missing = await vkube(['exec', '--', 'no-such-program']);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stderr, /no-such-program|not found/);
    const wrong = await vkube(['exec', '--', 'true'], { env: { VKUBE_SECRET: 'not-a-secret' } });
    assert.equal(wrong.code, 3);
    assert.match(wrong.stderr, /did not accept the secret/);
    const other = await server.createOrder({});
    const nothing = await vkube(['exec', '--', 'hostname'], { env: { VKUBE_SECRET: other.secret } });
    assert.equal(nothing.code, 4);
    assert.match(nothing.stderr, /nothing is deployed/);
    await fetch(`${server.url}/api/v1/admin/orders/${other.id}/abort`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}` } });
    assert.equal((await vkube(['exec', '--', 'hostname'], { env: { VKUBE_SECRET: other.secret } })).code, 3, 'an aborted order may not');
    const usage = await vkube(['port-forward', '80:99999']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /pod port must be a number from 1 to 65535/);
  });

  it('exec: Ctrl-C without a terminal ends the session, exit 130', async () => {
    const child = spawn(process.execPath, [BIN, 'exec', '--', 'sh', '-c', 'echo started; sleep 30'], { cwd: repoRoot, env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    try {
      await eventually(() => assert.match(stdout, /started/), { timeoutMs: 20_000, intervalMs: 50 });
      child.kill('SIGINT');
      assert.equal(await exited, 130, stderr);
      assert.equal(stderr, '', 'no error: it was asked to stop');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('exec -it: a raw terminal on the remote shell, resized at start and on SIGWINCH, Ctrl-C and Ctrl-D passed through, the terminal restored', async () => {
    const term = new Terminal(underTerminal('exec -it -- sh'));
    try {
      term.type('stty size; echo "typed $((6*7))"\r');
      await term.see(/typed 42/);
      // Line ends come as \r\r\n: the remote terminal's \r\n, through the local one (raw mode keeps its output processing).
      assert.match(term.screen, /\n30 100\r+\n/, 'the remote terminal has the local size from the start');

      let mark = term.screen.length;
      term.resize(40, 120);
      term.type('stty size\r');
      await term.see(/\n40 120\r+\n/, mark);

      // Ctrl-C stops the remote command, not vkube: the shell goes on.
      mark = term.screen.length;
      term.type('sleep 300\r');
      await term.see(/sleep 300/, mark);
      term.type('\x03');
      await term.see(/\^C/, mark);
      term.type('echo "still here after $?"\r');
      await term.see(/still here after 130\r+\n/, mark);

      term.type('exit 5\r');
      await term.see(/VKUBE-EXIT=5/);
      assert.match(term.screen, /TERMINAL-RESTORED/, 'the local terminal is back as it was');
      assert.equal(await term.exited, 0);
    } finally {
      term.kill();
    }

    // Ctrl-D at the prompt ends the remote shell (exit 0), and with it vkube.
    const again = new Terminal(underTerminal('exec -it -- sh'));
    try {
      again.type('echo ready\r');
      // At the prompt, as a person would press it (the shell's line editor drops keys typed before it reads).
      await again.see(/ready\r+\n\/ # (\x1B\[6n)?$/);
      again.type('\x04');
      await again.see(/VKUBE-EXIT=0/);
      assert.match(again.screen, /TERMINAL-RESTORED/);
    } finally {
      again.kill();
    }
  });

  it('port-forward: a local port carries HTTP requests to the container, one tunnel each, until Ctrl-C', async () => {
    const child = spawn(process.execPath, [BIN, 'port-forward', ':80', '--json'], { cwd: repoRoot, env: cliEnv() });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    try {
      const line = await eventually(() => stdout.split('\n').find((l) => l.includes('listening')) ?? assert.fail(`not listening yet: ${stdout}${stderr}`), { timeoutMs: 30_000 });
      const { listening, port } = JSON.parse(line) as { listening: string; port: number };
      assert.equal(port, 80);
      assert.match(listening, /^127\.0\.0\.1:\d+$/);
      const started = Date.now();
      const [a, b] = await Promise.all([httpGet(`http://${listening}/index.html`, 15_000), httpGet(`http://${listening}/`, 15_000)]);
      console.log(`two HTTP requests through vkube port-forward: ${Date.now() - started} ms`);
      for (const res of [a, b]) {
        assert.equal(res.status, 200);
        assert.match(res.body, new RegExp(`token=${TOKEN}`));
      }
      child.kill('SIGINT');
      assert.equal(await exited, 0, stderr);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
