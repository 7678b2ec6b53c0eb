/**
 * The e-mail address that notices go to, bound to a service (with its secret) or to a
 * wallet address (with a signed request), as the original market CLI binds them: ask
 * for a code, which is mailed to the address; send the code back to bind it.
 *
 * Codes are 6 digits, live CODE_TTL_SECONDS, allow MAX_ATTEMPTS wrong guesses, and are
 * stored only as a keyed hash bound to the owner and the address (a code mailed for one
 * address cannot bind another). They are compared in constant time and never logged.
 */
import { randomInt } from 'node:crypto';
import type { ContactOwner, NotificationStore } from './store-port.js';
import type { Clock } from '../../kernel/clock.js';
import { InputError, TooManyRequestsError, UnavailableError } from '../../kernel/errors.js';
import type { SecretHasher } from '../secrets.js';
import type { Mailer } from './ports.js';

export const CODE_TTL_SECONDS = 600;
export const MAX_ATTEMPTS = 5;
/** A new code for the same owner no sooner than this: the relay is not a way to spam an address. */
export const RESEND_AFTER_SECONDS = 60;
/** How long the API waits for the relay to take a code's mail before it answers 503. */
const CODE_MAIL_TIMEOUT_MS = 15_000;

export interface ContactRequest {
  type: 'email';
  contact: string;
}

export interface ContactView {
  type: 'email';
  contact: string;
}

export class ContactService {
  constructor(
    private readonly store: NotificationStore,
    private readonly hasher: SecretHasher,
    private readonly clock: Clock,
    /** Undefined when no SMTP relay is configured. */
    private readonly mailer: Mailer | undefined,
  ) {}

  get(owner: ContactOwner): Promise<ContactView | undefined> {
    return this.store.contactOf(owner).then((c) => c && { type: c.type, contact: c.contact });
  }

  /** Mails a new code to the address; the previous code of this owner stops working. */
  async sendCode(owner: ContactOwner, body: unknown): Promise<{ type: 'email'; contact: string; expiresAt: number }> {
    const { contact } = parseContact(body);
    if (!this.mailer) throw new UnavailableError('this V-Kube sends no e-mail (its provider has not set VKUBE_SMTP_URL)');
    const now = this.clock.now();
    const pending = await this.store.pendingCode(owner);
    if (pending && now - pending.sentAt < RESEND_AFTER_SECONDS) {
      const wait = RESEND_AFTER_SECONDS - (now - pending.sentAt);
      throw new TooManyRequestsError(`a code was sent ${now - pending.sentAt} s ago; ask again in ${wait} s`, wait);
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const expiresAt = now + CODE_TTL_SECONDS;
    await this.store.putCode({ owner, type: 'email', contact, codeHash: this.codeHash(owner, contact, code), expiresAt, attempts: 0, sentAt: now });
    try {
      await withTimeout(
        this.mailer.send({
          to: contact,
          subject: `Your V-Kube verification code: ${code}`,
          text: `Your code to receive V-Kube notices at this address is ${code}.\nIt expires in ${CODE_TTL_SECONDS / 60} minutes. If you did not ask for it, ignore this mail.\n`,
        }),
        CODE_MAIL_TIMEOUT_MS,
      );
    } catch (err) {
      // A code nobody received must not hold back the next try.
      await this.store.dropCode(owner).catch(() => {});
      throw new UnavailableError('the code could not be sent: the mail relay did not take it; try again later', { cause: err });
    }
    return { type: 'email', contact, expiresAt };
  }

  /** Binds the address when the code is the one mailed to it. */
  async verifyCode(owner: ContactOwner, body: unknown): Promise<ContactView> {
    const { contact } = parseContact(body);
    const code = (body as { code?: unknown }).code;
    const codeText = typeof code === 'number' ? String(code).padStart(6, '0') : code;
    if (typeof codeText !== 'string' || !/^\d{6}$/.test(codeText)) throw new InputError('must be the 6-digit code that was mailed', 'code');
    const pending = await this.store.pendingCode(owner);
    const now = this.clock.now();
    if (!pending || pending.expiresAt <= now) throw new InputError('no code is pending (or it expired); ask for a new one', 'code');
    if (pending.attempts >= MAX_ATTEMPTS) {
      await this.store.dropCode(owner);
      throw new InputError('too many wrong codes; ask for a new one', 'code');
    }
    // Compared as a keyed hash of owner, address and code: a wrong address is a wrong code.
    if (!this.hasher.matches(this.codeInput(owner, contact, codeText), pending.codeHash)) {
      const attempts = await this.store.countCodeAttempt(owner);
      const left = Math.max(0, MAX_ATTEMPTS - attempts);
      if (left === 0) await this.store.dropCode(owner);
      throw new InputError(left > 0 ? `wrong code for ${contact} (${left} attempts left)` : 'wrong code; no attempts left, ask for a new one', 'code');
    }
    await this.store.bindContact({ owner, type: 'email', contact, createdAt: now });
    return { type: 'email', contact };
  }

  async delete(owner: ContactOwner): Promise<boolean> {
    await this.store.dropCode(owner);
    return this.store.deleteContact(owner, 'email');
  }

  private codeHash(owner: ContactOwner, contact: string, code: string): string {
    return this.hasher.hash(this.codeInput(owner, contact, code));
  }

  private codeInput(owner: ContactOwner, contact: string, code: string): string {
    return `contact-code\n${owner.kind}\n${owner.id}\n${contact}\n${code}`;
  }
}

/** `{"type":"email","contact":"a@b.c"}`; addresses compare lower-case. */
export function parseContact(body: unknown): ContactRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InputError('the body must be a JSON object {"type":"email","contact":"…"}');
  const { type, contact } = body as { type?: unknown; contact?: unknown };
  if (type !== 'email') throw new InputError('must be "email" (the only kind of contact V-Kube sends to)', 'type');
  if (typeof contact !== 'string' || !isEmail(contact.trim())) throw new InputError('must be an e-mail address such as name@example.com', 'contact');
  return { type, contact: contact.trim().toLowerCase() };
}

/** A plain mailbox: no display name, no spaces or line breaks (they would reach the mail's headers). */
export const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
export const MAX_EMAIL = 254;

function isEmail(text: string): boolean {
  return text.length <= MAX_EMAIL && EMAIL.test(text);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
