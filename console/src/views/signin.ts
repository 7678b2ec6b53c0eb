/** Sign in with the order's secret, or the original clients' token (base58 of "<host>:<secret>"). */
import { errorText, VkubeApiError } from '../api.js';
import { field, h, messageBox } from '../dom.js';
import type { View } from './view.js';

export function signInView(signIn: (secret: string) => Promise<void>, notice?: { tone: 'error' | 'ok'; text: string }): View {
  const input = h('input', {
    type: 'password',
    name: 'secret',
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    required: true,
  });
  const secret = field('Order secret or token', input, {
    hint: 'The secret you received with your order, or the token the vkube CLI uses. It is kept only in this browser tab until you sign out.',
  });
  const reveal = h('button', { type: 'button', class: 'secondary small', 'aria-pressed': 'false', 'aria-controls': input.id }, 'Show');
  reveal.addEventListener('click', () => {
    const shown = input.type === 'text';
    input.type = shown ? 'password' : 'text';
    reveal.textContent = shown ? 'Show' : 'Hide';
    reveal.setAttribute('aria-pressed', String(!shown));
  });
  secret.el.insertBefore(h('div', { class: 'with-action' }, input, reveal), secret.hint);

  const submit = h('button', { type: 'submit' }, 'Sign in');
  const message = messageBox();
  if (notice) message.show(notice.tone, notice.text);

  const form = h('form', { class: 'card signin-form', novalidate: true, 'aria-labelledby': 'signin-title' }, secret.el, submit, message.el);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    secret.setError('');
    if (!value) {
      // Said once, at the field; the alert below would only repeat it.
      secret.setError('Enter the secret or token of your order.');
      message.clear();
      input.focus();
      return;
    }
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    submit.textContent = 'Signing in…';
    message.show('busy', 'Checking your secret…');
    try {
      await signIn(value);
    } catch (err) {
      // One message, in one place: a refused secret is the field's problem; anything else (V-Kube unreachable) the form's.
      if (err instanceof VkubeApiError && err.status === 401) {
        secret.setError('This secret or token was not accepted. Check that you copied all of it.');
        message.clear();
      } else {
        message.show('error', `Could not sign in: ${errorText(err)}`);
      }
      input.focus();
      input.select();
    } finally {
      submit.disabled = false;
      form.removeAttribute('aria-busy');
      submit.textContent = 'Sign in';
    }
  });

  const el = h(
    'main',
    { id: 'main', class: 'signin', tabindex: '-1' },
    h('div', { class: 'brand big' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '▣'), 'V-Kube'),
    h('h1', { id: 'signin-title', tabindex: '-1' }, 'Sign in to your container'),
    h('p', { class: 'lead' }, 'Deploy, watch and control the container of your order.'),
    form,
  );
  return { el };
}
