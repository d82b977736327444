/**
 * `email`: one digest per PI per period. Without `--send`, .eml files to review (the safe
 * default). With it, SMTP with timeouts, retries with back-off on transient failures, a rate
 * limit, and a delivery log written after every message, so an interrupted run resumes and
 * nothing is sent twice by accident.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';
import { deliveryKey, emlFileName, piKey } from '../domain/identity.ts';
import { type LockOptions, withRepositoryLock } from '../repo/lock.ts';
import { commitWrites } from '../repo/write.ts';
import type { PeriodView, PiPeriodView } from '../site/model.ts';
import { composeDigest } from './compose.ts';
import { type DeliveriesFile, deliveriesPath, formatDeliveries, readDeliveries } from './deliveries.ts';

export interface EmailOptions {
  root: string;
  period: PeriodView;
  baseUrl: string;
  send: boolean;
  only?: string[];
  resend?: boolean;
  attachPdf?: boolean;
  /** Built site, where --attach-pdf finds the PDFs. */
  siteDir: string;
  outDir: string;
  now: () => string;
  env?: NodeJS.ProcessEnv;
  progress: (text: string) => void;
  sleep?: (ms: number) => Promise<void>;
  lock?: LockOptions;
}

export type EmailOutcome =
  | { pi: string; status: 'sent'; message_id: string; attempts: number }
  | { pi: string; status: 'written'; file: string }
  | { pi: string; status: 'skipped'; reason: string }
  | { pi: string; status: 'failed'; error: string; attempts: number };

export function digestHash(pi: PiPeriodView, subject: string, baseUrl: string): string {
  return createHash('sha256')
    .update(JSON.stringify([pi.email, subject, baseUrl, pi.statements.map((s) => s.content_hash).sort()]))
    .digest('hex');
}

/** SMTP replies and socket errors worth another try; a 5xx reply is final. */
export function isTransient(error: unknown): boolean {
  const e = error as { responseCode?: number; code?: string };
  if (typeof e.responseCode === 'number') return e.responseCode >= 400 && e.responseCode < 500;
  return ['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNRESET', 'ECONNREFUSED', 'EDNS', 'ETLS'].includes(e.code ?? '');
}

/**
 * Writes or sends each PI's email for the period. Sending holds the repository lock (the
 * delivery log is written after every message). Email is at-least-once: SMTP cannot promise
 * more. A rerun skips every PI the log says was sent; after a crash, only the message that was
 * in flight (sent, but not yet logged) can go out twice.
 */
export async function emailPeriod(config: Config, options: EmailOptions): Promise<EmailOutcome[]> {
  if (!options.send) return deliver(config, options);
  return withRepositoryLock(
    options.root,
    `focus-billing email --period ${options.period.period} --send`,
    () => deliver(config, options),
    options.lock,
  );
}

async function deliver(config: Config, options: EmailOptions): Promise<EmailOutcome[]> {
  const env = options.env ?? process.env;
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms)));
  const from = config.email.from_address ?? config.organization.contact_email;
  if (!from) throw new UserError('no sender address', { hint: 'set email.from_address (or organization.contact_email) in config.yaml' });
  const wanted = options.only?.map(piKey);
  const pis = options.period.pis.filter((p) => !wanted || wanted.includes(p.email));
  if (wanted) {
    const unknown = wanted.filter((w) => !options.period.pis.some((p) => p.email === w));
    if (unknown.length) throw new UserError(`no statement for ${unknown.join(', ')} in ${options.period.period}`);
  }
  const log: DeliveriesFile = await readDeliveries(options.root, options.period.period);
  const smtp = config.email.smtp;
  const timeout = smtp.timeout_seconds * 1000;
  const transport = options.send
    ? nodemailer.createTransport({
        host: smtp.host,
        port: smtp.port,
        secure: smtp.security === 'tls',
        requireTLS: smtp.security === 'starttls',
        ignoreTLS: smtp.security === 'none',
        auth: env[smtp.user_env] ? { user: env[smtp.user_env] as string, pass: env[smtp.password_env] ?? '' } : undefined,
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
      })
    : nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  const outcomes: EmailOutcome[] = [];
  const minGap = 1000 / config.email.rate_per_second;
  let lastSent = 0;
  try {
    for (const [i, pi] of pis.entries()) {
      const digest = composeDigest(pi, options.period, config, options.baseUrl);
      const hash = digestHash(pi, digest.subject, options.baseUrl);
      const previous = log.deliveries.find((d) => deliveryKey(d.to) === deliveryKey(pi.email));
      if (options.send && previous && !options.resend) {
        outcomes.push({
          pi: pi.email,
          status: 'skipped',
          reason:
            previous.content_hash === hash
              ? `already sent ${previous.sent_at}`
              : `sent ${previous.sent_at}, and the statement changed since: pass --resend to send it again`,
        });
        continue;
      }
      const attachments = options.attachPdf ? await pdfAttachments(pi, options.siteDir) : [];
      const message = {
        from: { name: config.email.from_name, address: from },
        to: { name: pi.name === pi.email ? '' : pi.name, address: pi.email },
        replyTo: config.email.reply_to,
        subject: digest.subject,
        text: digest.text,
        html: digest.html,
        attachments,
        headers: { 'X-OpenChargeback-Period': options.period.period },
      };
      options.progress(`  ${i + 1}/${pis.length} ${pi.email}`);
      if (!options.send) {
        const info = (await transport.sendMail(message)) as unknown as { message: Buffer };
        const file = join(options.outDir, emlFileName(pi.email));
        await commitWrites([{ target: file, content: info.message }]);
        outcomes.push({ pi: pi.email, status: 'written', file });
        continue;
      }
      let attempt = 0;
      for (;;) {
        attempt++;
        const wait = lastSent + minGap - Date.now();
        if (wait > 0) await sleep(wait);
        try {
          lastSent = Date.now();
          const info = await transport.sendMail(message);
          log.deliveries = [
            ...log.deliveries.filter((d) => deliveryKey(d.to) !== deliveryKey(pi.email)),
            { to: pi.email, message_id: info.messageId, sent_at: options.now(), content_hash: hash },
          ];
          // Written after every message: an interrupted run resumes where it stopped.
          await commitWrites([{ target: deliveriesPath(options.root, options.period.period), content: formatDeliveries(log) }]);
          outcomes.push({ pi: pi.email, status: 'sent', message_id: info.messageId, attempts: attempt });
          break;
        } catch (e) {
          if (isTransient(e) && attempt < config.email.attempts) {
            await sleep(config.email.retry_delay_ms * 2 ** (attempt - 1));
            continue;
          }
          outcomes.push({ pi: pi.email, status: 'failed', error: (e as Error).message.split('\n')[0] ?? String(e), attempts: attempt });
          break;
        }
      }
    }
  } finally {
    transport.close();
  }
  return outcomes;
}

async function pdfAttachments(pi: PiPeriodView, siteDir: string) {
  const out = [];
  for (const s of pi.statements) {
    const path = join(siteDir, s.paths.pdf);
    if (!existsSync(path))
      throw new UserError(`no PDF for statement ${s.number} in ${siteDir}`, {
        hint: 'build the site with PDFs first: focus-billing build',
      });
    out.push({ filename: s.paths.pdfFile, content: await readFile(path), contentType: 'application/pdf' });
  }
  return out;
}
