/**
 * The benchmark's yardstick: DuckDB reading and aggregating a FOCUS file directly, with no tool
 * around it, the fastest exact way: amounts as DECIMAL(18,10) (which holds the synthetic
 * month's values exactly, and parses several times faster than DECIMAL(38,18)), three tag
 * lookups, GROUP BY PI × project × fund/org × service, and the 4 MB read buffer the tool uses
 * (DuckDB's default of 32 MB outgrows the processor's caches: this query takes twice as long
 * with it). `ingest` takes the same fast path for amounts that fit it.
 *
 * Plain JavaScript, run by plain `node`: a TypeScript loader (tsx) would add a third of a second
 * to every round of the yardstick and flatter the tool, whose CLI is compiled.
 */
import { writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [file] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const reader = await c.runAndReadAll(
  `SELECT json_extract_string(Tags, '$.pi_email') AS pi, json_extract_string(Tags, '$.project_id') AS project,
     json_extract_string(Tags, '$.fund_org') AS fund_org, ServiceName, sum(BilledCost) AS billed, sum(ListCost) AS list, count(*) AS n
   FROM read_csv($file, header = true, types = {'BilledCost': 'DECIMAL(18,10)', 'ListCost': 'DECIMAL(18,10)', 'Tags': 'VARCHAR'},
     buffer_size = 4194304)
   GROUP BY ALL`,
  { file: file ?? '' },
);
const rows = reader.getRowObjectsJson();
process.stdout.write(`${rows.length} groups\n`);
if (process.env.OCB_REPORT_MAXRSS) writeFileSync(process.env.OCB_REPORT_MAXRSS, String(process.resourceUsage().maxRSS));
