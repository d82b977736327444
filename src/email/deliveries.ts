/** `periods/<period>/deliveries.yaml`: what was sent to whom, so a rerun never mails twice by accident. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { UserError } from '../core/errors.ts';
import { layout, relPath } from '../repo/layout.ts';

export const deliverySchema = z
  .object({
    to: z.string(),
    message_id: z.string(),
    sent_at: z.string(),
    /** Hash of the statement content sent: a changed statement is sent again only with --resend. */
    content_hash: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .strict();

export const deliveriesFileSchema = z
  .object({
    period: z.string(),
    deliveries: z.array(deliverySchema).default([]),
  })
  .strict();

export type Delivery = z.infer<typeof deliverySchema>;
export type DeliveriesFile = z.infer<typeof deliveriesFileSchema>;

export const deliveriesPath = (root: string, period: string) => join(layout.periodDir(root, period), 'deliveries.yaml');

export async function readDeliveries(root: string, period: string): Promise<DeliveriesFile> {
  let text: string;
  try {
    text = await readFile(deliveriesPath(root, period), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { period, deliveries: [] };
    throw e;
  }
  const result = deliveriesFileSchema.safeParse(parse(text) ?? {});
  if (!result.success) {
    throw new UserError(
      `${relPath('periods', period, 'deliveries.yaml')} is not a valid delivery log: ${result.error.issues[0]?.message}`,
      {
        hint: 'restore it from git; it records what was already sent',
      },
    );
  }
  return result.data;
}

export function formatDeliveries(file: DeliveriesFile): string {
  return `# Emails sent for this period (focus-billing email --send). A rerun skips PIs already sent
# this content; --resend sends changed statements again. Commit this file.
${stringify(file, { lineWidth: 0 })}`;
}
