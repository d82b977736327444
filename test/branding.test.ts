/**
 * The institution's look and words: logo, accent colour, Markdown templates for the statement and
 * the email (unknown fields refused at load), `preview`, and GL columns with their own headers.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { markdownHtml } from '../src/config/templates.ts';
import { cli, FOCUS_HEADER, scratchRepo, tags, writeCsv } from './helpers.ts';

const CONFIG = `organization:
  name: Lakeside University
  contact_email: rc@lakeside.edu
  logo: assets/logo.svg
  logo_alt: Lakeside University crest
  accent_color: "#8c1515"
sources:
  - name: HPC
    recharge_fund_org: "900000-0001"
statements:
  intro: "Dear {pi_name}, here is **{project_id}** for {period_label}: {amount_due} is due."
  footer: "Statement {statement_number}. Pay by journal transfer to fund/org {fund_org}."
email:
  body: |
    Hello {pi_name},

    Your {period_label} total is **{amount_due}** for {projects}. See {statements_url}
journal:
  columns:
    - { field: date, header: Trans Date }
    - { value: RC, header: Program }
    - fund_org
    - { field: debit, header: Dr }
    - { field: credit, header: Cr }
`;
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#8c1515"/></svg>\n';
const HEADER = FOCUS_HEADER;

/** One April HPC job billed `cost` (list price `list`) to `attribution`, ingested. */
async function ingestJob(root: string, cost: string, list: string, attribution: Record<string, string>): Promise<void> {
  const file = await writeCsv(root, 'hpc.csv', [
    HEADER,
    ['2025-04-01', '2025-04-02', 'Usage', cost, list, 'HPC CPU Compute', 'job-1', tags(attribution)],
  ]);
  assert.equal((await cli('ingest', file, '--source', 'HPC', '--root', root)).code, 0);
}

it('shows the logo, accent colour and templates on pages, PDFs and emails; previews them; names GL columns', async (t) => {
  const root = await scratchRepo(t, CONFIG);
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'assets', 'logo.svg'), LOGO);
  await ingestJob(root, '123.45', '200.00', { pi_email: 'r.okafor@lakeside.edu', project_id: 'ocean-model', fund_org: '100200-0300' });

  const built = await cli('build', '--out', join(root, 'dist'), '--date', '2025-05-01', '--json', '--root', root);
  assert.equal(built.code, 0, built.stderr);
  const pdfDir = join(root, 'dist', 'periods', '2025-04', 'pdf');
  const pdf = join(pdfDir, readdirSync(pdfDir)[0] as string);
  const text = execFileSync('pdftotext', ['-layout', pdf, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
  assert.match(text, /Dear r\.okafor@lakeside\.edu, here is ocean-model for April 2025: \$123\.45 is due\./);
  assert.match(text, /Statement 202504-[0-9A-F]{16}\. Pay by journal transfer to fund\/org 100200-0300\./);
  assert.doesNotMatch(text, /Questions about this statement/, 'the footer template replaces the default line');
  assert.match(text, /Lakeside University crest/, "the logo's alt text is in the PDF's text");
  const statementDir = join(root, 'dist', 'periods', '2025-04', 'statements');
  const page = readFileSync(join(statementDir, readdirSync(statementDir)[0] as string, 'index.html'), 'utf8');
  assert.match(page, /<img class="statement-logo" src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="Lakeside University crest"/);
  assert.match(page, /--statement-accent: #8c1515/);
  assert.match(page, /<strong>ocean-model<\/strong>/);

  const email = await cli('preview', 'email', '--period', '2025-04', '--base-url', 'https://rc.lakeside.edu/billing/', '--root', root);
  assert.equal(email.code, 0, email.stderr);
  assert.match(
    email.stdout,
    /^Subject: Research Computing Charges - April 2025\nTo: r\.okafor@lakeside\.edu\n\nHello r\.okafor@lakeside\.edu,/,
  );
  assert.match(
    email.stdout,
    /Your April 2025 total is \*\*\$123\.45\*\* for ocean-model\. See https:\/\/rc\.lakeside\.edu\/billing\/periods\/2025-04\/pi\//,
  );
  const html = join(root, 'out', 'email.html');
  assert.equal((await cli('preview', 'email', '--period', '2025-04', '--out', html, '--root', root)).code, 0);
  assert.match(readFileSync(html, 'utf8'), /Your April 2025 total is <strong>\$123\.45<\/strong>/);
  const statement = await cli('preview', 'statement', '--period', '2025-04', '--root', root);
  assert.equal(statement.code, 0, statement.stderr);
  assert.match(statement.stdout, /Dear r\.okafor@lakeside\.edu, here is ocean-model for April 2025: \$123\.45 is due\./);
  assert.match(statement.stdout, /Amount due +\$123\.45/);

  const gl = await cli('journal', '--period', '2025-04', '--format', 'gl', '--root', root);
  assert.equal(gl.code, 0, gl.stderr);
  assert.deepEqual(gl.stdout.trim().split('\r\n'), [
    'Trans Date,Program,fund_org,Dr,Cr',
    '2025-04-30,RC,100200-0300,123.45,',
    '2025-04-30,RC,900000-0001,,123.45',
  ]);
});

it('refuses an unknown template field, a too-light accent and a missing logo, at their lines', async (t) => {
  const root = await scratchRepo(t, CONFIG.replace('{amount_due} is due', '{amount} is due'));
  const r = await cli('validate', '--root', root);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /config\.yaml:11:10: statements\.intro/);
  assert.match(r.stderr, /unknown field \{amount\}; fields: \{pi_name\}/);

  await writeFile(join(root, 'config.yaml'), CONFIG.replace('#8c1515', '#f0c0c0'));
  const light = await cli('validate', '--root', root);
  assert.equal(light.code, 2);
  assert.match(light.stderr, /#f0c0c0 is too light to read on white \(contrast 1\.\d\d:1/);

  await writeFile(join(root, 'config.yaml'), CONFIG);
  await ingestJob(root, '1.00', '1.00', { pi_email: 'a@x.edu', project_id: 'p', fund_org: '1' });
  const noLogo = await cli('build', '--no-pdf', '--out', join(root, 'dist'), '--root', root);
  assert.equal(noLogo.code, 2);
  assert.match(noLogo.stderr, /organization\.logo assets\/logo\.svg: no such file in the repository/);
});

it('shows values from the data as written in the Markdown templates: a project id cannot add a link or emphasis', async (t) => {
  const root = await scratchRepo(t, CONFIG);
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'assets', 'logo.svg'), LOGO);
  // Tags are set by whoever runs the resources, not by the billing office.
  const project = '[Pay now](https://evil.example/pay) *gpu* `x` <b>y</b> &amp;';
  await writeFile(join(root, 'pis.yaml'), '- email: _r.okafor_@lakeside.edu\n  name: "Rita *R* Okafor_"\n');
  await ingestJob(root, '123.45', '200.00', { pi_email: '_r.okafor_@lakeside.edu', project_id: project, fund_org: '100_200_' });

  const built = await cli('build', '--out', join(root, 'dist'), '--date', '2025-05-01', '--root', root);
  assert.equal(built.code, 0, built.stderr);
  const statementDir = join(root, 'dist', 'periods', '2025-04', 'statements');
  const page = readFileSync(join(statementDir, readdirSync(statementDir)[0] as string, 'index.html'), 'utf8');
  const intro = /<div class="intro">([\s\S]*?)<\/div>/.exec(page)?.[1] ?? page;
  assert.doesNotMatch(intro, /<a |<em>|<code>|<b>/, 'no markup from a value');
  assert.ok(
    intro.includes(
      'Dear Rita *R* Okafor_, here is <strong>[Pay now](https://evil.example/pay) *gpu* `x` &lt;b&gt;y&lt;/b&gt; &amp;amp;</strong> for April 2025',
    ),
    intro,
  );
  const pdfDir = join(root, 'dist', 'periods', '2025-04', 'pdf');
  const text = execFileSync('pdftotext', ['-layout', join(pdfDir, readdirSync(pdfDir)[0] as string), '-'], { encoding: 'utf8' });
  assert.match(text.replace(/\s+/g, ' '), /Pay by journal transfer to fund\/org 100_200_\./);

  const html = join(root, 'out', 'email.html');
  assert.equal((await cli('preview', 'email', '--period', '2025-04', '--out', html, '--root', root)).code, 0);
  const body = readFileSync(html, 'utf8');
  assert.doesNotMatch(body.split('<table')[0] as string, /<a |<em>|<code>/);
  assert.ok(body.includes('Hello Rita *R* Okafor_,'), body);
  assert.ok(body.includes('for [Pay now](https://evil.example/pay) *gpu* `x` &lt;b&gt;y&lt;/b&gt; &amp;amp;. See '), body);
  const text2 = await cli('preview', 'email', '--period', '2025-04', '--root', root);
  assert.ok(text2.stdout.includes(`for ${project}. See https://`), 'the text email shows the value as it is, unescaped');
});

it('keeps a URL or email field a link where the template makes it one', () => {
  const fields = { statements_url: 'https://rc.x.edu/p/a_b*c(1)/?x=1&y=2', contact_email: 'rc_help@x.edu', project_id: 'atlas*gpu*' };
  const html = (template: string) => markdownHtml(template, fields).trim();
  assert.equal(html('See {statements_url}.'), '<p>See https://rc.x.edu/p/a_b*c(1)/?x=1&amp;y=2.</p>');
  assert.equal(html('[Statements]({statements_url})'), '<p><a href="https://rc.x.edu/p/a_b*c(1)/?x=1&amp;y=2">Statements</a></p>');
  assert.equal(
    html('<{statements_url}>'),
    '<p><a href="https://rc.x.edu/p/a_b*c(1)/?x=1&amp;y=2">https://rc.x.edu/p/a_b*c(1)/?x=1&amp;y=2</a></p>',
  );
  assert.equal(html('Write to <{contact_email}>'), '<p>Write to <a href="mailto:rc_help@x.edu">rc_help@x.edu</a></p>');
  assert.equal(html('<{project_id}>'), '<p>&lt;atlas*gpu*&gt;</p>', 'not a URL: shown as the template writes it');
  assert.equal(html('**{project_id}** {nope}'), '<p><strong>atlas*gpu*</strong> {nope}</p>');
});

it('wraps long ids on the PDF statement instead of cutting the amounts off the page', async (t) => {
  const root = await scratchRepo(t, CONFIG);
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'assets', 'logo.svg'), LOGO);
  // No hyphens: pdftotext drops one that ends a line.
  const project = `genomics_${'assembly'.repeat(20)}`;
  const resource = `/subscriptions/5d0c5/resourceGroups/genomics/providers/Microsoft.Compute/virtualMachines/${'v'.repeat(150)}`;
  const service = `HPC CPU Compute ${'x'.repeat(80)}`;
  const file = await writeCsv(root, 'hpc.csv', [
    HEADER,
    ...['1.11', '2.22', '3.33'].map((cost, i) => [
      '2025-04-01',
      '2025-04-02',
      'Usage',
      cost,
      cost,
      service,
      `${resource}${i}`,
      tags({ pi_email: 'r.okafor@lakeside.edu', project_id: project, fund_org: '100200-0300' }),
    ]),
  ]);
  assert.equal((await cli('ingest', file, '--source', 'HPC', '--root', root)).code, 0);
  const built = await cli('build', '--out', join(root, 'dist'), '--date', '2025-05-01', '--root', root);
  assert.equal(built.code, 0, built.stderr);
  const pdfDir = join(root, 'dist', 'periods', '2025-04', 'pdf');
  const text = execFileSync('pdftotext', ['-layout', join(pdfDir, readdirSync(pdfDir)[0] as string), '-'], { encoding: 'utf8' });
  // Read in reading order (not laid out, where a wrapped cell's lines interleave with its neighbours').
  const joined = execFileSync('pdftotext', [join(pdfDir, readdirSync(pdfDir)[0] as string), '-'], { encoding: 'utf8' })
    .replace(/\s+/g, '')
    .replace('Fund/org100200-0300', ''); // beside the project, read between its lines
  assert.ok(joined.includes(project), 'the whole project id');
  assert.ok(joined.includes(`hereis${project}forApril2025`), 'in the intro too');
  // A wrapped cell's lines interleave with its neighbours' in any reading order: each resource's start, and its date whole.
  assert.equal(joined.split(`2025-04-02${resource.slice(0, 60)}`).length - 1, 3, joined);
  // Each charge line's amount, and the details' total, are on the page.
  assert.match(text, /Amount\s*\n/);
  for (const amount of ['$1.11', '$2.22', '$3.33']) assert.ok(text.includes(amount), amount);
  assert.match(text, /Total \(3 charges\)\s+\$6\.66/);
});
