/** What notifications need from the outside world: an SMTP relay and an HTTP client for webhooks. */

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  /** Sends one mail; rejects when the relay did not accept it. Never logs the text (it may hold a code). */
  send(message: MailMessage): Promise<void>;
}

export interface WebhookPost {
  url: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface WebhookSender {
  /**
   * POSTs the body; resolves with the receiver's status (redirects are not followed).
   * Rejects when no answer came: refused by the address policy, unreachable, timed out.
   */
  post(request: WebhookPost): Promise<number>;
  /** Why the URL's host may not be delivered to now (address policy), undefined when it may. */
  refusal(url: URL): Promise<string | undefined>;
}
