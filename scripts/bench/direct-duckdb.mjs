/**
 * The benchmark's yardstick: DuckDB reading and aggregating a FOCUS file directly, with no tool
 * around it, the fastest exact way: amounts as DECIMAL(18,10) (which holds the synthetic
 * month's values exactly, and parses several times faster than DECIMAL(38,18)), the rows grouped
 * by their Tags text first and the three tags looked up once per text, then grouped by PI ×
 * project × fund/org × service, with the 4 MB read buffer the tool uses (DuckDB's default of
 * 32 MB outgrows the processor's caches: this query takes twice as long with it), and the
 * columns named from the file's header rather than sniffed. `ingest` takes the same fast path
 * for amounts that fit it, and both commands read Tags once per text where texts repeat, as
 * exports' do (the bench month has 573 in a million rows). Looking the tags up in every row, as
 * this yardstick did before fc82b26, gives the same groups and sums in a third more time (1.2 s
 * against 0.9 s of the query here), which flattered the tool.
 *
 * Plain JavaScript, run by plain `node`: a TypeScript loader (tsx) would add a third of a second
 * to every round of the yardstick and flatter the tool, whose CLI is compiled.
 */
import { createReadStream, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createGunzip } from 'node:zlib';

// Required, not imported, as the tool loads it (src/db/node-api.ts): imported as an ES module,
// Node scans the CommonJS package for its exports first, 60-90 ms the tool no longer pays.
const { DuckDBInstance } = createRequire(import.meta.url)('@duckdb/node-api');

/**
 * The file's header, from its first bytes (inflated for a .csv.gz), when its names need no
 * quoting, as the bench's files: DuckDB then reads the columns as named without sniffing a sample
 * of the file for them (about 0.08 s of the 1M-row month's read), as the tool, which reads the
 * header itself, does. Null otherwise: DuckDB sniffs.
 */
async function header(path) {
  const raw = createReadStream(path, { start: 0, end: 65_535 });
  const stream = path.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let text = '';
  for await (const chunk of stream) {
    text += chunk.toString('latin1');
    if (text.includes('\n')) break;
  }
  raw.destroy();
  const names = text.split(/\r?\n/)[0]?.split(',') ?? [];
  return names.length > 1 && names.every((n) => /^[A-Za-z][A-Za-z0-9_]*$/.test(n)) ? names : null;
}

const [file] = process.argv.slice(2);
const names = await header(file ?? '');
const types = { BilledCost: 'DECIMAL(18,10)', ListCost: 'DECIMAL(18,10)' };
const read = names
  ? `auto_detect = false, columns = {${names.map((n) => `'${n}': '${types[n] ?? 'VARCHAR'}'`).join(', ')}}`
  : "types = {'BilledCost': 'DECIMAL(18,10)', 'ListCost': 'DECIMAL(18,10)', 'Tags': 'VARCHAR'}";
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const reader = await c.runAndReadAll(
  `SELECT json_extract_string(Tags, '$.pi_email') AS pi, json_extract_string(Tags, '$.project_id') AS project,
     json_extract_string(Tags, '$.fund_org') AS fund_org, ServiceName, sum(billed) AS billed, sum(list) AS list, sum(n) AS n
   FROM (
     SELECT Tags, ServiceName, sum(BilledCost) AS billed, sum(ListCost) AS list, count(*) AS n
     FROM read_csv($file, header = true, ${read}, buffer_size = 4194304)
     GROUP BY ALL)
   GROUP BY ALL`,
  { file: file ?? '' },
);
const rows = reader.getRowObjectsJson();
process.stdout.write(`${rows.length} groups\n`);
if (process.env.OCB_REPORT_MAXRSS) writeFileSync(process.env.OCB_REPORT_MAXRSS, String(process.resourceUsage().maxRSS));
