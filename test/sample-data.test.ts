/**
 * The bundled sample, checked against an independent oracle: a plain CSV parser and BigInt sums
 * in this file (no DuckDB), plus the headline figures for 2025-01 written out by hand.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { cli, makeRepo, removeDir, SAMPLE } from './helpers.ts';

/** RFC 4180 records with the line each starts on. */
function parseCsv(text: string): { line: number; cells: string[] }[] {
  const out: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        cell += c;
      }
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else if (c === '\n') {
      cells.push(cell);
      out.push({ line: start, cells });
      cells = [];
      cell = '';
      line++;
      start = line;
    } else cell += c;
  }
  return out;
}

const units = (d: string, scale = 10) => {
  const [i, f = ''] = d.replace('-', '').split('.');
  const v = BigInt(`${i}${f.padEnd(scale, '0')}`);
  return d.startsWith('-') ? -v : v;
};
const round2 = (u: bigint) => {
  const neg = u < 0n;
  const a = neg ? -u : u;
  const q = a / 10n ** 8n;
  const r = (a % 10n ** 8n) * 2n >= 10n ** 8n ? q + 1n : q;
  return neg ? -r : r;
};
const cents = (c: bigint) => `${c < 0n ? '-' : ''}${(c < 0n ? -c : c) / 100n}.${String((c < 0n ? -c : c) % 100n).padStart(2, '0')}`;

/** The clouds' own FOCUS exports, and the files the converters made from the raw inputs. */
const SOURCES = ['aws', 'azure', 'hpc', 'storage', 'vms'];

let repo: string;
before(async () => {
  repo = await makeRepo();
  for (const s of SOURCES) {
    const r = await cli('ingest', join(SAMPLE, `${s}_2025-01.csv`), '--source', s, '--root', repo);
    assert.equal(r.code, 0, r.stderr);
  }
});
after(() => removeDir(repo));

describe('sample data, 2025-01', () => {
  it('has the volume and shape the demo promises', async () => {
    const pis = new Set<string>();
    const projects = new Set<string>();
    let rows = 0;
    for (const s of SOURCES) {
      const [header, ...records] = parseCsv(await readFile(join(SAMPLE, `${s}_2025-01.csv`), 'utf8'));
      const t = header?.cells.indexOf('Tags') ?? -1;
      rows += records.length;
      for (const r of records) {
        const tg = (() => {
          try {
            return JSON.parse(r.cells[t] ?? '');
          } catch {
            return {};
          }
        })();
        const lower = Object.fromEntries(Object.entries(tg).map(([k, v]) => [k.toLowerCase().replace(/^user:/, ''), v]));
        if (lower.pi_email) pis.add(String(lower.pi_email));
        if (lower.pi_email && (lower.project_id ?? lower.project)) projects.add(`${lower.pi_email}/${lower.project_id ?? lower.project}`);
      }
    }
    assert.ok(rows >= 2000, `${rows} rows`);
    assert.ok(pis.size >= 20, `${pis.size} PIs`);
    assert.ok(projects.size >= 40, `${projects.size} projects`);
  });

  it('totals per source equal the oracle and the hand-written figures', async () => {
    const show = await cli('periods', 'show', '2025-01', '--root', repo, '--json');
    assert.equal(show.code, 0, show.stderr);
    const sources = show.json().sources;
    const expected: Record<string, { billed: string; list: string; rows: number }> = {};
    for (const s of SOURCES) {
      const [header, ...records] = parseCsv(await readFile(join(SAMPLE, `${s}_2025-01.csv`), 'utf8'));
      const b = header?.cells.indexOf('BilledCost') ?? -1;
      const l = header?.cells.indexOf('ListCost') ?? -1;
      const billed = records.reduce((t, r) => t + units(r.cells[b] ?? '0'), 0n);
      const list = records.reduce((t, r) => t + units(r.cells[l] || r.cells[b] || '0'), 0n);
      expected[s] = { billed: cents(round2(billed)), list: cents(round2(list)), rows: records.length };
    }
    const got = Object.fromEntries(
      sources.map((s: { source: string; billed: string; list: string; rows: number }) => [
        s.source,
        { billed: cents(round2(units(s.billed, 18) / 10n ** 8n)), list: cents(round2(units(s.list, 18) / 10n ** 8n)), rows: s.rows },
      ]),
    );
    assert.deepEqual(got, expected);
    // Checked independently: the clouds' files with Python's decimal module; the converted ones
    // from the raw inputs by test/oracle/sample-converters.py.
    assert.deepEqual(expected, {
      aws: { billed: '29395.97', list: '35947.52', rows: 1212 },
      azure: { billed: '39488.44', list: '46456.99', rows: 520 },
      hpc: { billed: '2097.05', list: '7630.03', rows: 544 },
      storage: { billed: '1590.00', list: '2567.50', rows: 50 },
      vms: { billed: '669.19', list: '1218.39', rows: 26 },
    });
  });

  it('statements hold exactly the unflagged charges, rounded per line, and reconcile', async () => {
    const gen = await cli('generate', '--period', '2025-01', '--dry-run', '--json', '--root', repo);
    assert.equal(gen.code, 0, gen.stderr);
    const { statements, reconciliation } = gen.json();
    // Oracle: group every unflagged row by PI × project × fund/org × source × service × category.
    const flagged = new Set(
      (parse(await readFile(join(repo, 'periods/2025-01/flags.yaml'), 'utf8')).flags as { file: string; line: number }[]).map(
        (f) => `${f.file}:${f.line}`,
      ),
    );
    const lines = new Map<string, bigint>();
    for (const s of SOURCES) {
      const [header, ...records] = parseCsv(await readFile(join(SAMPLE, `${s}_2025-01.csv`), 'utf8'));
      const col = (n: string) => header?.cells.indexOf(n) ?? -1;
      for (const r of records) {
        if (flagged.has(`data/2025-01/${s}.csv:${r.line}`)) continue;
        const tg = JSON.parse(r.cells[col('Tags')] ?? '{}');
        const lower = Object.fromEntries(Object.entries(tg).map(([k, v]) => [k.toLowerCase().replace(/^user:/, ''), String(v)]));
        const key = [
          lower.pi_email,
          lower.project_id ?? lower.project,
          lower.fund_org,
          s,
          r.cells[col('ServiceName')],
          r.cells[col('ChargeCategory')],
        ].join('|');
        lines.set(key, (lines.get(key) ?? 0n) + units(r.cells[col('BilledCost')] ?? '0'));
      }
    }
    const got = new Map<string, string>();
    let dueTotal = 0n;
    for (const st of statements) {
      let sum = 0n;
      for (const l of st.lines) {
        got.set([st.pi_email, st.project_id, st.fund_org, l.source, l.service, l.category].join('|'), l.amount);
        sum += units(l.amount, 2);
      }
      assert.equal(cents(sum), st.amount_due, 'a statement total is the sum of its lines');
      assert.equal(cents(units(st.list, 2) - units(st.discount, 2)), st.amount_due);
      dueTotal += sum;
    }
    assert.deepEqual(new Map([...lines].map(([k, v]) => [k, cents(round2(v))])), got);
    assert.equal(statements.length, 45);
    const [usd] = reconciliation;
    assert.equal(usd.statements, cents(dueTotal));
    assert.equal(units(usd.input, 18), units(usd.statements, 18) + units(usd.excluded, 18) + units(usd.rounding_residue, 18));
    // HPC CPU is fully subsidised: billed nothing, its list price still shown.
    const hpc = statements
      .flatMap((s: { lines: { service: string; amount: string; list: string }[] }) => s.lines)
      .filter((l: { service: string }) => l.service === 'HPC CPU Compute');
    assert.ok(hpc.length > 0 && hpc.every((l: { amount: string; list: string }) => l.amount === '0.00' && l.list !== '0.00'));
    // Research credits are their own lines.
    assert.equal(
      statements.flatMap((s: { lines: { category: string }[] }) => s.lines).filter((l: { category: string }) => l.category === 'Credit')
        .length,
      3,
    );
  });
});
