/**
 * The V-Kube customer console. Signed out: the sign-in form. Signed in (the secret is
 * in sessionStorage): the console for that order.
 */
import './style.css';
import { connect, errorText, VkubeApiError } from './api.js';
import { announce, h, replaceChildren } from './dom.js';
import { forgetSecret, saveSecret, savedSecret } from './session.js';
import { mountShell } from './shell.js';
import { Session } from './store.js';
import { signInView } from './views/signin.js';

const root = document.getElementById('app')!;
let unmount: (() => void) | undefined;

function showSignIn(notice?: { tone: 'error' | 'ok'; text: string }): void {
  unmount?.();
  unmount = undefined;
  document.title = 'Sign in · V-Kube console';
  const view = signInView(signIn, notice);
  replaceChildren(root, view.el);
  unmount = view.dispose;
}

/** Checks the secret against V-Kube; on success keeps it for this tab and opens the console. */
async function signIn(secret: string): Promise<void> {
  const session = await Session.open(connect(secret));
  saveSecret(secret);
  openConsole(session, true);
}

function openConsole(session: Session, focusMain: boolean): void {
  unmount?.();
  session.whenSignedOut(() => {
    forgetSecret();
    showSignIn({ tone: 'error', text: 'Your secret no longer opens this order (it may have been rotated). Sign in again.' });
  });
  unmount = mountShell(root, session, signOut);
  announce(`Signed in to order ${session.snapshot.service.id}.`);
  if (focusMain) document.querySelector<HTMLElement>('main h1')?.focus();
}

function signOut(): void {
  forgetSecret();
  history.replaceState(null, '', '/');
  showSignIn({ tone: 'ok', text: 'You are signed out. The secret was removed from this browser tab.' });
  announce('Signed out.');
}

async function start(): Promise<void> {
  const secret = savedSecret();
  if (!secret) return showSignIn();
  replaceChildren(root, h('p', { class: 'loading', role: 'status' }, 'Loading your order…'));
  try {
    openConsole(await Session.open(connect(secret)), false);
  } catch (err) {
    if (err instanceof VkubeApiError && err.status === 401) forgetSecret();
    showSignIn({ tone: 'error', text: errorText(err) });
  }
}

void start();
