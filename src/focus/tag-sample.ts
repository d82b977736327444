/**
 * Whether a file's rows share few Tags texts, judged from its first rows. What Tags decides (the
 * attributes, six of the flag rules) is most of the per-row work; where rows repeat their text,
 * as exports usually do (a project's resources carry the same tags), grouping them by text first
 * reads Tags once per group. The report (report/report-query.ts) and ingest's scan (scan.ts) use it.
 */
import type { Config } from '../config/schema.ts';
import type { Database } from '../db/duckdb.ts';
import { Params } from '../db/params.ts';
import { type Attribute, TAG_RULES } from '../domain/rules.ts';
import { trimmedSql } from './attribution-sql.ts';
import { anyRuleSql, type ChargeFile, tagsSql } from './charges-sql.ts';
import { col, readFileSql } from './read-sql.ts';

/** Rows of a file's first this many that decide how it is read; more for a large file that needs them. */
const SAMPLE_ROWS = 4096;
const LARGE_SAMPLE_ROWS = 65_536;
/** A file this large can afford the larger sample (about a third of a second). */
const LARGE_FILE_BYTES = 32 << 20;

interface SampleShape {
  rows: number;
  /** Rows whose Tags text occurs once in the sample. */
  once: number;
  /** Rows Tags holds for review. */
  held: number;
}

/** How a file's first `rows` rows' Tags texts repeat, and how many Tags holds for review. */
async function sampleShape(
  db: Database,
  f: ChargeFile,
  config: Config,
  attributes: readonly Attribute[],
  tags: number,
  rows: number,
): Promise<SampleShape> {
  const params = new Params();
  const texts = `SELECT _tags_raw, count(*) AS _n
    FROM (SELECT ${trimmedSql(col(tags))} AS _tags_raw FROM ${readFileSql(f, params)} LIMIT ${rows}) GROUP BY ALL`;
  const options = { config, period: null, attributes };
  const [shape] = await db.query<Record<keyof SampleShape, string>>(
    `SELECT coalesce(sum(_n), 0) AS rows, count(*) FILTER (WHERE _n = 1) AS once,
      coalesce(sum(_n) FILTER (WHERE ${anyRuleSql(TAG_RULES)}), 0) AS held
    FROM (${tagsSql(texts, f, options, params)})`,
    params.values,
  );
  return { rows: Number(shape?.rows ?? 0), once: Number(shape?.once ?? 0), held: Number(shape?.held ?? 0) };
}

/**
 * Whether grouping a file's rows by Tags text pays, judged from its first rows: it pays when few
 * rows bring a text not seen before (the share of the sample's rows whose text occurs once
 * estimates how often the next row brings a new one, and that only falls further on), and few
 * rows are held for review by Tags (each is read again, or hashed alone). A large file whose
 * texts are too many for the first sample to repeat them gets a larger one. Either way gives the
 * same rows; a wrong guess costs only time.
 */
export async function tagsRepeat(db: Database, f: ChargeFile, config: Config, attributes: readonly Attribute[]): Promise<boolean> {
  const tags = f.columns.tags;
  if (tags === undefined) return false;
  const fewHeld = (s: SampleShape) => s.held * 16 <= s.rows;
  const pays = (s: SampleShape) => s.rows > 0 && s.once * 10 <= s.rows && fewHeld(s);
  try {
    const first = await sampleShape(db, f, config, attributes, tags, SAMPLE_ROWS);
    if (pays(first)) return true;
    const worthMore = first.rows === SAMPLE_ROWS && f.file.size >= LARGE_FILE_BYTES && fewHeld(first);
    return worthMore && pays(await sampleShape(db, f, config, attributes, tags, LARGE_SAMPLE_ROWS));
  } catch {
    return false; // the full read reports what is wrong with the file
  }
}
