/** Email through a real SMTP server on 127.0.0.1 (smtp-server), read back with mailparser. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { parse } from 'yaml';
import { cli, makeRepo, removeDir, tags, writeCsv } from './helpers.ts';

interface Received {
  to: string[];
  mail: ParsedMail;
}

let received: Received[] = [];
/** Per recipient: SMTP replies to give before accepting (e.g. [451, 451] or [550]). */
let refusals = new Map<string, number[]>();
let server: SMTPServer;
let port: number;
let repo: string;
let originalExport: string;

const PIS = [
  ['ann@uni.edu', 'genomics', '10.00', '12.50'],
  ['bob@uni.edu', 'climate', '20.00', '20.00'],
  ['bob@uni.edu', 'ocean', '3.333', '5.00'],
  ['cy@uni.edu', 'physics', '0', '40.00'],
];

async function focusBilling(...args: string[]) {
  return cli(...args, '--root', repo);
}

before(async () => {
  server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const queue = refusals.get(address.address) ?? [];
      const code = queue.shift();
      if (code) {
        const err = Object.assign(new Error(code >= 500 ? 'Mailbox unavailable' : 'Try again later'), { responseCode: code });
        return callback(err);
      }
      callback();
    },
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
  port = (server.server.address() as { port: number }).port;
  repo = await makeRepo(
    [
      'organization: { name: Uni Research Computing, contact_email: rc@uni.edu }',
      'site: { base_url: "https://rc.uni.edu/billing/" }',
      `email: { smtp: { host: 127.0.0.1, port: ${port}, security: none, timeout_seconds: 5 }, rate_per_second: 100, retry_delay_ms: 5 }`,
      '',
    ].join('\n'),
  );
  await writeFile(join(repo, 'pis.yaml'), '- { email: ann@uni.edu, name: Ann Ames }\n- { email: bob@uni.edu, name: "Bob <b> Boyd" }\n');
  originalExport = await writeCsv(repo, 'hpc.csv', [
    ['BillingPeriodStart', 'BilledCost', 'ListCost', 'ServiceName', 'Tags'],
    ...PIS.map(([pi, project, billed, list]) => [
      '2025-03-01',
      billed as string,
      list as string,
      'HPC',
      tags({ pi_email: pi, project_id: project, fund_org: 'F-1' }),
    ]),
  ]);
  assert.equal((await focusBilling('ingest', originalExport, '--source', 'HPC')).code, 0);
});

after(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  await removeDir(repo);
});

// Each test starts from the same state: the original data, nothing sent.
beforeEach(async () => {
  received = [];
  refusals = new Map();
  await rm(join(repo, 'periods/2025-03/deliveries.yaml'), { force: true });
  assert.equal((await focusBilling('ingest', originalExport, '--source', 'HPC', '--replace')).code, 0);
});

/** Sends everyone their email once, as an earlier run would have. */
async function sendAll(): Promise<void> {
  assert.equal((await focusBilling('email', '--period', '2025-03', '--send')).code, 0);
  received = [];
}

describe('email', () => {
  it('writes .eml files and sends nothing without --send', async () => {
    const r = await focusBilling('email', '--period', '2025-03');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Wrote 3 emails to out\/emails\/2025-03\/ \(nothing sent/);
    assert.equal(readdirSync(join(repo, 'out/emails/2025-03')).length, 3);
    assert.equal(received.length, 0);
    assert.ok(!existsSync(join(repo, 'periods/2025-03/deliveries.yaml')));
    // An email an earlier run wrote for a PI with no statement now is kept, and named.
    const stale = join(repo, 'out/emails/2025-03/dee-0a1b2c.eml');
    writeFileSync(stale, 'From an earlier run\n');
    const again = await focusBilling('email', '--period', '2025-03');
    assert.equal(again.code, 0, again.stderr);
    assert.match(
      again.stderr,
      /warning: out\/emails\/2025-03\/ also holds 1 email this run did not write \(an earlier run's, for PIs without a statement now\?\): dee-0a1b2c\.eml\n {2}hint: remove them before sending any by hand/,
    );
    const json = await focusBilling('email', '--period', '2025-03', '--json');
    assert.deepEqual(JSON.parse(json.stdout).not_written_by_this_run, ['dee-0a1b2c.eml']);
    assert.ok(existsSync(stale), 'nothing deleted');
    rmSync(stale);
  });

  it('sends one digest per PI with their projects, amounts and links, and logs each', async () => {
    const r = await focusBilling('email', '--period', '2025-03', '--send');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(received.map((m) => m.to[0]).sort(), ['ann@uni.edu', 'bob@uni.edu', 'cy@uni.edu']);
    const bob = received.find((m) => m.to[0] === 'bob@uni.edu')?.mail as ParsedMail;
    assert.equal(bob.subject, 'Research Computing Charges - March 2025');
    assert.match(bob.text ?? '', /^Dear Bob <b> Boyd,/);
    assert.match(bob.text ?? '', /climate \(fund\/org F-1\): list \$20\.00, discount \$0\.00, amount due \$20\.00/);
    assert.match(bob.text ?? '', /ocean \(fund\/org F-1\): list \$5\.00, discount \$1\.67 \(33\.4%\), amount due \$3\.33/);
    assert.match(bob.text ?? '', /Total amount due: \$23\.33/);
    assert.match(bob.html || '', /Dear Bob &lt;b&gt; Boyd,/, 'names are escaped in HTML');
    const links = [...(bob.text ?? '').matchAll(/https:\/\/rc\.uni\.edu\/billing\/\S+/g)].map((m) => m[0]);
    assert.equal(links.filter((l) => l.endsWith('.pdf')).length, 2);
    assert.ok(links.some((l) => /\/periods\/2025-03\/pi\/bob-[0-9a-f]{6}\/$/.test(l)));
    const cy = received.find((m) => m.to[0] === 'cy@uni.edu')?.mail as ParsedMail;
    assert.match(cy.text ?? '', /^Dear cy@uni\.edu,/, 'no name in the directory: the email');
    assert.match(cy.text ?? '', /list \$40\.00, discount \$40\.00 \(100\.0%\), amount due \$0\.00/);
    const log = parse(await readFile(join(repo, 'periods/2025-03/deliveries.yaml'), 'utf8'));
    assert.deepEqual(log.deliveries.map((d: { to: string }) => d.to).sort(), ['ann@uni.edu', 'bob@uni.edu', 'cy@uni.edu']);

    const again = await focusBilling('email', '--period', '2025-03', '--send');
    assert.equal(again.code, 0);
    assert.equal(received.length, 3, 'a rerun sends nothing');
    assert.match(again.stdout, /0 sent, 3 skipped, 0 failed/);
  });

  it('retries a transient failure, and reports a rejected recipient while delivering the others', async () => {
    await sendAll();
    refusals.set('ann@uni.edu', [451, 451]);
    refusals.set('bob@uni.edu', [550]);
    const r = await focusBilling('email', '--period', '2025-03', '--send', '--resend');
    assert.equal(r.code, 1);
    assert.match(r.stdout, /sent {4}ann@uni\.edu \(after 3 attempts\)/);
    assert.match(r.stderr, /failed {2}bob@uni\.edu: .*550.* \(after 1 attempt\)/);
    assert.match(r.stdout, /2 sent, 0 skipped, 1 failed/);
    assert.deepEqual(received.map((m) => m.to[0]).sort(), ['ann@uni.edu', 'cy@uni.edu']);

    // bob was sent before this run, so only --resend (or a changed statement) sends to him again;
    // remove his log entry as if he had never been sent, and rerun: only bob goes.
    const path = join(repo, 'periods/2025-03/deliveries.yaml');
    const log = parse(await readFile(path, 'utf8'));
    log.deliveries = log.deliveries.filter((d: { to: string }) => d.to !== 'bob@uni.edu');
    await writeFile(path, JSON.stringify(log));
    received = [];
    const rerun = await focusBilling('email', '--period', '2025-03', '--send');
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(
      received.map((m) => m.to[0]),
      ['bob@uni.edu'],
    );
  });

  it('sends a changed statement again only with --resend', async () => {
    await sendAll();
    const file = await writeCsv(repo, 'hpc2.csv', [
      ['BillingPeriodStart', 'BilledCost', 'ListCost', 'ServiceName', 'Tags'],
      ...PIS.map(([pi, project, billed, list]) => [
        '2025-03-01',
        pi === 'ann@uni.edu' ? '11.00' : (billed as string),
        list as string,
        'HPC',
        tags({ pi_email: pi, project_id: project, fund_org: 'F-1' }),
      ]),
    ]);
    assert.equal((await focusBilling('ingest', file, '--source', 'HPC', '--replace')).code, 0);
    const r = await focusBilling('email', '--period', '2025-03', '--send');
    assert.equal(received.length, 0);
    assert.match(r.stdout, /skipped ann@uni\.edu: sent .*, and the statement changed since: pass --resend/);
    const resend = await focusBilling('email', '--period', '2025-03', '--send', '--resend', '--only', 'ann@uni.edu');
    assert.equal(resend.code, 0);
    assert.deepEqual(
      received.map((m) => m.to[0]),
      ['ann@uni.edu'],
    );
    assert.match(received[0]?.mail.text ?? '', /amount due \$11\.00/);
  });

  it('refuses without a base URL, with pending flags, or without built PDFs to attach', async () => {
    const root = await makeRepo('email: { from_address: rc@uni.edu }\n');
    const file = await writeCsv(root, 'x.csv', [
      ['BillingPeriodStart', 'BilledCost', 'Tags'],
      ['2025-03-01', '1', tags({ pi_email: 'a@b', project_id: 'p' })],
    ]);
    await cli('ingest', file, '--source', 'HPC', '--root', root);
    const noUrl = await cli('email', '--period', '2025-03', '--root', root);
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.stderr, /statement links need the site address\n {2}hint: pass --base-url/);
    const pending = await cli('email', '--period', '2025-03', '--base-url', 'https://x.edu/', '--root', root);
    assert.equal(pending.code, 2);
    assert.match(pending.stderr, /2025-03 has 1 pending flag: statements are not final/);
    const pdf = await focusBilling('email', '--period', '2025-03', '--attach-pdf', '--only', 'cy@uni.edu');
    assert.equal(pdf.code, 2);
    assert.match(pdf.stderr, /no PDF for statement .* in .*dist\n {2}hint: build the site with PDFs first/);
    await removeDir(root);
  });
});
