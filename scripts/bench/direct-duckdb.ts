/**
 * The benchmark's yardstick: DuckDB reading and aggregating a FOCUS file directly, with no tool
 * around it (read_csv with exact decimals, three tag lookups, GROUP BY PI × project × service).
 */
import { writeFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [file] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const reader = await c.runAndReadAll(
  `SELECT json_extract_string(Tags, '$.pi_email') AS pi, json_extract_string(Tags, '$.project_id') AS project,
     json_extract_string(Tags, '$.fund_org') AS fund_org, ServiceName, sum(BilledCost) AS billed, sum(ListCost) AS list, count(*) AS n
   FROM read_csv($file, header = true, types = {'BilledCost': 'DECIMAL(38,18)', 'ListCost': 'DECIMAL(38,18)', 'Tags': 'VARCHAR'})
   GROUP BY ALL`,
  { file: file ?? '' },
);
const rows = reader.getRowObjectsJson();
process.stdout.write(`${rows.length} groups\n`);
if (process.env.OCB_REPORT_MAXRSS) writeFileSync(process.env.OCB_REPORT_MAXRSS, String(process.resourceUsage().maxRSS));
