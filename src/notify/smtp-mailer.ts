/**
 * Mail through the provider's SMTP relay (nodemailer), from VKUBE_SMTP_URL:
 * `smtp://user:pass@host:port` (STARTTLS when the relay offers it) or `smtps://…`
 * (TLS from the start). One pooled transport per process.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type { MailMessage, Mailer } from '../domain/notify/ports.js';

export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
    timeoutMs: number,
  ) {
    // Without bounds a relay that accepts and never answers would hold a delivery for minutes.
    this.transport = nodemailer.createTransport({ url, pool: true, maxConnections: 2, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs * 2 });
  }

  async send(message: MailMessage): Promise<void> {
    await this.transport.sendMail({ from: this.from, to: message.to, subject: message.subject, text: message.text });
  }

  close(): void {
    this.transport.close();
  }
}
