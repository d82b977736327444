/** `periods/<period>/deliveries.yaml`: what was sent to whom, so a rerun never mails twice by accident. */
import { stringify } from 'yaml';
import { z } from 'zod';
import { readYamlFile } from '../core/yaml-file.ts';
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

export const deliveriesPath = (root: string, period: string) => layout.deliveriesFile(root, period);

export async function readDeliveries(root: string, period: string): Promise<DeliveriesFile> {
  return readYamlFile(
    deliveriesPath(root, period),
    relPath('periods', period, 'deliveries.yaml'),
    deliveriesFileSchema,
    'restore it from git: it records what was already sent, so a rerun does not mail anyone twice',
    () => ({ period, deliveries: [] }),
    { period },
  );
}

export function formatDeliveries(file: DeliveriesFile): string {
  return `# Emails sent for this period (focus-billing email --send). A rerun skips PIs already sent
# this content; --resend sends changed statements again. Commit this file.
${stringify(file, { lineWidth: 0 })}`;
}
