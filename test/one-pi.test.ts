/**
 * A PI is one person: statements in two currencies, and an email spelled in two cases, make one
 * PI page listing every statement with totals per currency, one email listing them all, and one
 * delivery record. (Before: the second currency overwrote the first page and .eml, and --send
 * skipped it with exit 0.)
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { parse } from 'yaml';
import { cli, makeRepo, removeDir, tags, writeCsv } from './helpers.ts';

const H = ['BillingPeriodStart', 'BilledCost', 'ListCost', 'BillingCurrency', 'ServiceName', 'Tags'];
const t = (pi: string, project: string) => tags({ pi_email: pi, project_id: project, fund_org: '100100-1000' });

let repo: string;
let server: SMTPServer;
const received: { to: string[]; mail: ParsedMail }[] = [];

before(async () => {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push({ to: session.envelope.rcptTo.map((r) => r.address), mail });
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.server.address() as { port: number }).port;
  repo = await makeRepo(
    `organization: { name: Uni RC, contact_email: rc@uni.edu }\nsite: { base_url: "https://rc.uni.edu/billing/" }\nemail: { smtp: { host: 127.0.0.1, port: ${port}, security: none }, rate_per_second: 100 }\n`,
  );
  const aws = await writeCsv(repo, 'aws.csv', [
    H,
    ['2025-01-01', '100', '100', 'USD', 'EC2', t('A.Rivera@example.edu', 'p1')],
    ['2025-01-01', '200', '200', 'USD', 'EC2', t('a.rivera@example.edu', 'p2')],
    ['2025-01-01', '300', '300', 'USD', 'EC2', t('multi@example.edu', 'p1')],
  ]);
  const azure = await writeCsv(repo, 'azure.csv', [H, ['2025-01-01', '400', '400', 'EUR', 'VM', t('multi@example.edu', 'p2')]]);
  assert.equal((await cli('ingest', aws, '--source', 'AWS', '--root', repo)).code, 0);
  assert.equal((await cli('ingest', azure, '--source', 'Azure', '--root', repo)).code, 0);
});

after(async () => {
  server.close();
  await removeDir(repo);
});

describe('a PI is one person', () => {
  it('has one page listing every statement, with totals per currency', async () => {
    const r = await cli('build', '--no-pdf', '--root', repo, '--date', '2025-02-01');
    assert.equal(r.code, 0, r.stderr);
    const pages = readdirSync(join(repo, 'dist/periods/2025-01/pi')).sort();
    assert.equal(pages.length, 2, pages.join(' '));
    const multi = await readFile(
      join(repo, 'dist/periods/2025-01/pi', pages.find((p) => p.startsWith('multi-')) as string, 'index.html'),
      'utf8',
    );
    assert.match(multi, /p1<\/th>[\s\S]*p2<\/th>/, 'both projects');
    assert.match(multi, /data-amount="300\.00" data-currency="USD">\$300\.00</);
    assert.match(multi, /data-amount="400\.00" data-currency="EUR">€400\.00</);
    const rivera = await readFile(
      join(repo, 'dist/periods/2025-01/pi', pages.find((p) => p.startsWith('a-rivera-')) as string, 'index.html'),
      'utf8',
    );
    assert.match(rivera, /a\.rivera@example\.edu · January 2025 · 2 projects/);
    assert.match(rivera, /data-amount="300\.00" data-currency="USD">\$300\.00</);
  });

  it('gets one email listing every statement, and one delivery record', async () => {
    const written = await cli('email', '--period', '2025-01', '--root', repo, '--json');
    assert.equal(written.code, 0, written.stderr);
    assert.equal(readdirSync(join(repo, 'out/emails/2025-01')).length, 2);
    const sent = await cli('email', '--period', '2025-01', '--send', '--root', repo, '--json');
    assert.equal(sent.code, 0, sent.stderr);
    assert.deepEqual(
      sent.json().outcomes.map((o: { pi: string; status: string }) => [o.pi, o.status]),
      [
        ['a.rivera@example.edu', 'sent'],
        ['multi@example.edu', 'sent'],
      ],
    );
    const multi = received.find((m) => m.to.includes('multi@example.edu'));
    assert.match(multi?.mail.text ?? '', /p1 \(fund\/org 100100-1000\): list \$300\.00[\s\S]*p2 \(fund\/org 100100-1000\): list €400\.00/);
    assert.match(multi?.mail.text ?? '', /Total amount due in EUR: €400\.00[\s\S]*Total amount due in USD: \$300\.00/);
    const log = parse(await readFile(join(repo, 'periods/2025-01/deliveries.yaml'), 'utf8')).deliveries;
    assert.deepEqual(log.map((d: { to: string }) => d.to).sort(), ['a.rivera@example.edu', 'multi@example.edu']);
    const again = await cli('email', '--period', '2025-01', '--send', '--root', repo, '--json');
    assert.deepEqual(
      again.json().outcomes.map((o: { status: string; reason: string }) => [o.status, o.reason.replace(/\d{4}-.*/, '…')]),
      [
        ['skipped', 'already sent …'],
        ['skipped', 'already sent …'],
      ],
    );
    assert.equal(received.length, 2);
  });
});
