/**
 * The terminal itself: xterm.js on an interactive exec WebSocket (`GET /k8s/pod/exec`,
 * v5.channel.k8s.io, tty). Loaded only when a terminal is opened (a dynamic import from
 * terminal.ts): xterm is several times the size of the rest of the console.
 *
 * Browsers cannot set headers on a WebSocket, so the secret goes as the subprotocol
 * `base64url.vkube.secret.<base64url>` offered beside `v5.channel.k8s.io`.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';

const STDIN = 0;
const STDOUT = 1;
const STDERR = 2;
const STATUS = 3;
const RESIZE = 4;
const EXEC_PROTOCOL = 'v5.channel.k8s.io';
const SECRET_PROTOCOL_PREFIX = 'base64url.vkube.secret.';

/** How a session ended, in words for the customer. */
export interface TerminalEnd {
  /** `exit`: the shell ended with a status; `closed`: V-Kube or the network ended it; `refused`: it never opened. */
  kind: 'exit' | 'closed' | 'refused';
  text: string;
  exitCode?: number;
}

export interface TerminalEvents {
  onOpen(): void;
  onEnd(end: TerminalEnd): void;
}

export interface TerminalHandle {
  /** Opens a session (closing one still open) on the same screen. */
  connect(opts: { secret: string; container?: string; command?: string[] }): void;
  /** Ends the session from this side. */
  close(): void;
  focus(): void;
  dispose(): void;
}

const encoder = new TextEncoder();

function frame(channel: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length + 1);
  out[0] = channel;
  out.set(data, 1);
  return out;
}

function secretProtocol(secret: string): string {
  let binary = '';
  for (const b of encoder.encode(secret)) binary += String.fromCharCode(b);
  return SECRET_PROTOCOL_PREFIX + btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The metav1.Status of channel 3 → an exit code, or Kubernetes' words when there is none. */
function exitOf(data: Uint8Array): { exitCode?: number; message?: string } {
  try {
    const s = JSON.parse(new TextDecoder().decode(data)) as { status?: string; message?: string; details?: { causes?: Array<{ reason?: string; message?: string }> } };
    if (s.status === 'Success') return { exitCode: 0 };
    const code = s.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
    if (code !== undefined && /^\d+$/.test(code)) return { exitCode: Number(code) };
    return { message: s.message ?? 'Kubernetes gave no reason' };
  } catch {
    return { message: 'Kubernetes sent an unreadable exit status' };
  }
}

export function createTerminal(host: HTMLElement, events: TerminalEvents): TerminalHandle {
  const term = new Terminal({ cursorBlink: true, convertEol: false, fontSize: 14, scrollback: 5000, theme: { background: '#0d1117', foreground: '#e6edf3' } });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(host);
  const unmirror = mirrorBlockedStyles(host);
  fit.fit();

  let ws: WebSocket | undefined;
  const send = (channel: number, data: Uint8Array) => {
    if (ws?.readyState === WebSocket.OPEN) ws.send(frame(channel, data));
  };
  const sendSize = () => send(RESIZE, encoder.encode(JSON.stringify({ Width: term.cols, Height: term.rows })));
  term.onData((text) => send(STDIN, encoder.encode(text)));
  // Bytes xterm reports outside UTF-8 (some mouse modes) arrive as a binary string.
  term.onBinary((text) => send(STDIN, Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff)));
  term.onResize(sendSize);
  // The window or the page layout changes: fit the grid to the box, which resizes the remote terminal too.
  const observer = new ResizeObserver(() => fit.fit());
  observer.observe(host);

  function connect(opts: { secret: string; container?: string; command?: string[] }): void {
    ws?.close(1000);
    const url = new URL('/api/v1/k8s/pod/exec', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    for (const arg of opts.command ?? ['sh']) url.searchParams.append('command', arg);
    url.searchParams.set('stdin', 'true');
    url.searchParams.set('tty', 'true');
    if (opts.container) url.searchParams.set('container', opts.container);
    const socket = new WebSocket(url, [EXEC_PROTOCOL, secretProtocol(opts.secret)]);
    socket.binaryType = 'arraybuffer';
    ws = socket;
    let opened = false;
    let status: { exitCode?: number; message?: string } | undefined;
    socket.onopen = () => {
      opened = true;
      term.reset();
      fit.fit();
      sendSize();
      term.focus();
      events.onOpen();
    };
    socket.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
      if (typeof event.data === 'string') return;
      const bytes = new Uint8Array(event.data);
      const channel = bytes[0];
      const data = bytes.subarray(1);
      if (channel === STDOUT || channel === STDERR) term.write(data);
      else if (channel === STATUS) status = exitOf(data);
    };
    socket.onclose = (event) => {
      if (ws === socket) ws = undefined;
      events.onEnd(describeEnd(opened, status, event));
    };
  }

  return {
    connect,
    close: () => ws?.close(1000),
    focus: () => term.focus(),
    dispose() {
      const socket = ws;
      ws = undefined;
      if (socket) {
        socket.onclose = null;
        socket.close(1000);
      }
      observer.disconnect();
      unmirror();
      term.dispose();
    },
  };
}

function describeEnd(opened: boolean, status: { exitCode?: number; message?: string } | undefined, event: CloseEvent): TerminalEnd {
  if (!opened) return { kind: 'refused', text: 'V-Kube did not open the terminal.' };
  if (status?.exitCode !== undefined) return { kind: 'exit', exitCode: status.exitCode, text: `The shell exited with status ${status.exitCode}.` };
  if (status?.message) return { kind: 'exit', text: `The shell could not run: ${status.message}` };
  // V-Kube's reasons: idle too long, the longest session, the order stopped or ended, the pod went away, V-Kube shutting down.
  if (event.reason) return { kind: 'closed', text: `The session ended: ${event.reason}.` };
  if (event.code === 1006) return { kind: 'closed', text: 'The connection to V-Kube was lost.' };
  return { kind: 'closed', text: 'The session ended.' };
}

/**
 * xterm writes its measured sizes and theme colours into <style> elements, which the
 * console's Content-Security-Policy (style-src 'self', no inline styles) does not apply
 * (`sheet` stays null). Their text goes into constructed stylesheets instead, which the
 * policy does not govern (like element.style), and follows every change xterm makes.
 */
function mirrorBlockedStyles(root: HTMLElement): () => void {
  const mirrors = new Map<HTMLStyleElement, CSSStyleSheet>();
  const sync = () => {
    for (const el of root.querySelectorAll('style')) {
      if (el.sheet && !mirrors.has(el)) continue; // applied as it is: no policy in the way (the dev server)
      let sheet = mirrors.get(el);
      if (!sheet) {
        sheet = new CSSStyleSheet();
        mirrors.set(el, sheet);
        document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
      }
      sheet.replaceSync(el.textContent ?? '');
    }
  };
  const observer = new MutationObserver(sync);
  observer.observe(root, { subtree: true, childList: true, characterData: true });
  sync();
  return () => {
    observer.disconnect();
    const ours = new Set(mirrors.values());
    document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => !ours.has(s));
  };
}
