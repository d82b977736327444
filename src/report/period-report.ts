/**
 * Everything known about one period: its data files read by DuckDB in one pass, its review
 * flags, the statements and the reconciliation. The report model every output is built from.
 */
import { existsSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { sourceSlug } from '../config/schema.ts';
import { minorDigits } from '../core/currency.ts';
import { invalidInput, UserError } from '../core/errors.ts';
import { formatUnits, parseDecimal, SCALE } from '../core/money.ts';
import { settleAll } from '../core/parallel.ts';
import type { Database, JsonRows } from '../db/duckdb.ts';
import { Params } from '../db/params.ts';
import { exportProblems, looksLikeDataFile, parseDataFileName } from '../domain/identity.ts';
import { compareText } from '../domain/order.ts';
import { ROW_ERRORS } from '../domain/rules.ts';
import { readFlags } from '../flags/file.ts';
import type { Flag } from '../flags/schema.ts';
import { type ChargeFile, type ChargesOptions, chargesSql } from '../focus/charges-sql.ts';
import { mapColumns, requiredColumns } from '../focus/columns.ts';
import { corruptGzip, lineTooLong } from '../focus/duckdb-errors.ts';
import { csvBytes, sniffFile } from '../focus/file.ts';
import { CorruptGzip, lastLineLonger, scanBytes } from '../focus/lines.ts';
import { fileColumnsSql, MAX_LINE_BYTES } from '../focus/read-sql.ts';
import { scanFile, withTagKeys } from '../focus/scan.ts';
import { periodPolicy } from '../policy/load.ts';
import { touchAndPrune, writeCacheFile } from '../repo/cache-dir.ts';
import { askGit, contentIds, rememberedHashesDir, rememberValue } from '../repo/content-id.ts';
import { sha256Text } from '../repo/hash.ts';
import { checkPeriod, layout, periodFolders, relPath } from '../repo/layout.ts';
import { notAFile } from '../repo/links.ts';
import { type PeriodStatus, periodStatus } from '../repo/period-file.ts';
import { findPlainCopy } from '../repo/plain-copy.ts';
import { INFLATED_BYTES, sameExportTwice } from '../repo/stored-export.ts';
import { buildStatements, type ChargeGroup, type StatementSet } from '../statements/build.ts';
import { cachedQuery } from './cache.ts';
import { groupsReportSql, type PeriodGroups, REPORT_ATTRIBUTES } from './groups.ts';
import { groupByTags, reportRows, reportSql } from './report-query.ts';

export interface SourceTotals {
  source: string;
  file: string;
  currency: string;
  rows: number;
  list: string;
  billed: string;
}

export interface FlagCounts {
  pending: number;
  approved: number;
  rejected: number;
}

export interface PeriodReport extends StatementSet {
  status: PeriodStatus;
  /** The data files read (for further queries on the same period). */
  files: ChargeFile[];
  /** Flagged charges as the data holds them: identical rows share a hash (ids hash, hash-2, …). */
  flagged: FlaggedCharge[];
  sources: SourceTotals[];
  flag_counts: FlagCounts;
  flags: Flag[];
}

/** The months whose data folder holds an export (or, with `holds`, another file it names). */
export async function listPeriods(root: string, holds: (name: string) => boolean = isDataFileName): Promise<string[]> {
  const folders = await periodFolders(layout.dataDir(root));
  // A folder left without an export (its last one removed, a Finder's .DS_Store behind) holds no
  // period; one that cannot be read is kept, for its reader to say why.
  const held = await Promise.all(
    folders.map((p) =>
      readdir(layout.periodDataDir(root, p)).then(
        (names) => names.some(holds),
        () => true,
      ),
    ),
  );
  return folders.filter((_, i) => held[i]);
}

/**
 * A name a stored export's file ends with, in any case (whether or not it is well named: see
 * dataFileNames, which refuses `AWS.CSV` rather than leave its charges unread).
 */
export function isDataFileName(name: string): boolean {
  return /\.(csv|csv\.gz|parquet)$/i.test(name);
}

/** The names of a period's stored data files, checked: one export per source, each well named. */
export async function dataFileNames(root: string, period: string): Promise<string[]> {
  const dir = layout.periodDataDir(root, period);
  // A link is refused, not followed (repo/links.ts): every command looks first, and a tree read
  // without a command's config (pr-summary's base) is looked at here too.
  const folder = await lstat(dir).catch(() => null);
  if (folder && !folder.isDirectory()) throw notAFile(relPath('data', period), folder.isSymbolicLink());
  const entries = (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => isDataFileName(e.name));
  const special = entries.find((e) => !e.isFile());
  if (special) throw notAFile(relPath('data', period, special.name), special.isSymbolicLink());
  const names = entries.map((e) => e.name).sort();
  for (const name of names) {
    if (!looksLikeDataFile(name) || !parseDataFileName(name))
      throw new UserError(`${relPath('data', period, name)} is not a data file name the tool gives`, {
        hint: 'stored exports are named <source slug>.csv, .csv.gz or .parquet (parts: <slug>.part-001.csv…); ingest the export instead of copying it',
        exitCode: 1,
      });
  }
  const [problem] = exportProblems(names);
  if (problem) {
    throw new UserError(
      `${problem.files.map((f) => relPath('data', period, f)).join(' and ')}: ${problem.reason} (source ${problem.slug}); the export would be billed ${problem.reason.includes('missing') ? 'in part' : 'twice'}`,
      {
        hint: 'keep one export per source and period: remove the stray file(s) with git rm, or ingest the right export again with --replace',
        exitCode: 1,
      },
    );
  }
  const twice = await sameExportTwice(
    names.map((n) => ({ path: join(dir, n), name: n, slug: parseDataFileName(n)?.slug })),
    { remember: rememberedHashesDir(root) },
  );
  if (twice)
    throw new UserError(
      `${twice.files.map((f) => relPath('data', period, f.name)).join(' and ')} hold the same export${twice.files[0].slug === twice.files[1].slug ? ', as two parts of one' : ' under two sources'}; it would be billed twice`,
      {
        hint:
          twice.files[0].slug === twice.files[1].slug
            ? 'keep one copy: remove the other part with git rm, or ingest the export again, its parts in order, with --replace'
            : `keep one copy, under the source it came from: take the other out, with its flags, by focus-billing remove --period ${period} --source <the wrong one>`,
        exitCode: 1,
      },
    );
  return names;
}

/** A period's data files, sniffed and mapped, each read from its plain copy where one is kept. */
export async function dataFiles(db: Database, root: string, config: Config, period: string): Promise<ChargeFile[]> {
  return Promise.all((await storedFiles(db, root, config, period)).map((f) => withPlainCopy(root, f)));
}

/** A period's data files as stored, sniffed and mapped (`dataFiles` without looking for plain copies). */
async function storedFiles(db: Database, root: string, config: Config, period: string): Promise<ChargeFile[]> {
  const dir = layout.periodDataDir(root, period);
  const files: ChargeFile[] = [];
  for (const name of await dataFileNames(root, period)) {
    const slug = (parseDataFileName(name) as { slug: string }).slug;
    const source = config.sources.find((s) => sourceSlug(s) === slug);
    const rel = relPath('data', period, name);
    if (!source) {
      throw new UserError(`${rel}: no source in config.yaml has the file name "${slug}"`, {
        hint: `add a source with slug: ${slug} under sources: in config.yaml, or move the file`,
      });
    }
    const file = await sniffFile(join(dir, name), rel, db);
    const required = requiredColumns(config.billing.cost_basis);
    files.push({ file, columns: mapColumns(file, required), sourceSlug: slug, relPath: rel });
  }
  return files;
}

/** The file read from its plain copy, when it is a compressed file of which one is kept (repo/plain-copy.ts). */
async function withPlainCopy(root: string, f: ChargeFile): Promise<ChargeFile> {
  const plain = f.file.compression === 'gzip' ? await findPlainCopy(root, f.file.path) : null;
  return plain ? { ...f, file: { ...f.file, plain } } : f;
}

export interface ReportOptions {
  /** Also check every CSV file's bytes (gzip checksums, NUL bytes): what ingest checked, for files committed since (validate). */
  verifyBytes?: boolean;
  /** Apply the billing policy (adjustments, credits, caps, showback, prepayments); default true. */
  policy?: boolean;
  /** Credit and prepayment balances after each period, shared by one command's reports (see policy/load.ts). */
  balances?: Map<string, Map<string, bigint>>;
  /** Group the charges for the details too (a build), so that they need no pass of their own. */
  groups?: PeriodGroups;
}

export async function periodReport(
  db: Database,
  root: string,
  config: Config,
  period: string,
  options: ReportOptions = {},
): Promise<PeriodReport> {
  checkPeriod(period);
  // The tag keys' sample (DuckDB) runs while the plain copy is looked for (a hash, in JavaScript),
  // git is asked what it knows of the files (for the cache's key; see askGit) and the flags are
  // read: the sample reads the same bytes from either file.
  const listed = await storedFiles(db, root, config, period);
  const flagsRead = readFlags(root, period);
  flagsRead.catch(() => {}); // awaited below, after the files' own errors
  // Every branch settles before an error is thrown: a failure must not close the database under
  // a sample still being read.
  const [files] = await settleAll([
    settleAll(
      listed.map(async (f) => {
        const [sampled, plain] = await settleAll([withTagKeys(db, f), withPlainCopy(root, f)]);
        return { ...sampled, file: plain.file };
      }),
    ),
    askGit(listed.map((f) => f.file.path)),
  ] as const);
  if (files.length === 0) {
    const known = await listPeriods(root);
    throw new UserError(`no data for period ${period}`, {
      hint: known.length
        ? `periods with data: ${known.join(', ')}`
        : 'ingest a FOCUS export first: focus-billing ingest <file> --source <name>',
    });
  }
  const flagsFile = await flagsRead;
  if (options.verifyBytes) await verifyBytes(root, files);
  const params = new Params();
  const sql = reportSql(files, config, period, params);
  type Row = ChargeGroup & { file: string; invalid: string };
  const rows = await cachedQuery<Row>(
    root,
    { sql, params: params.values, files: files.map((f) => f.file.path) },
    async () => {
      await refuseLongLastLines(files);
      // A .csv.gz read as such (no plain copy) is inflated in JavaScript while DuckDB reads it,
      // and checked as validate checks it, before its rows count: its last line cannot be seen
      // without inflating it, and DuckDB would drop one longer than its buffer without a word.
      const checking = new AbortController();
      const checked = options.verifyBytes ? Promise.resolve() : verifyBytes(root, files.filter(readAsGzip), checking.signal);
      checked.catch(() => {}); // awaited once the rows are read, or abandoned with the read
      let rows: JsonRows<Row>;
      try {
        const { groups } = options;
        if (groups) rows = await db.queryJson<Row>(groupsReportSql(await groups.make(files, config, period)));
        else {
          const byTags = new Set<ChargeFile>();
          for (const f of files) if (await groupByTags(db, f, config)) byTags.add(f);
          rows = await reportRows<Row>(db, files, config, period, (f) => byTags.has(f));
        }
      } catch (e) {
        checking.abort();
        // Attribute the failure to a file: reading each alone throws a located error.
        for (const f of files) await scanFile(db, f, config, period);
        throw e;
      }
      await checked;
      return rows;
    },
    (rows) => !rows.some((r) => Number(r.invalid) > 0),
  );
  const invalidFile = files.find((f) => rows.some((r) => r.file === f.relPath && Number(r.invalid) > 0));
  if (invalidFile) await scanFile(db, invalidFile, config, period); // throws the located error
  const groups = rows.map((r) => ({ ...r, rows: Number(r.rows) }));
  const digitsOf = (c: string) => minorDigits(c, config.billing.minor_units);
  const base = buildStatements({ period, groups, flags: flagsFile.flags, minorDigits: digitsOf });
  const set =
    options.policy === false
      ? base
      : (
          await periodPolicy(
            root,
            config,
            period,
            base,
            await listPeriods(root),
            (q: string) => periodReport(db, root, config, q, { policy: false }),
            digitsOf,
            options.balances,
          )
        ).set;
  return {
    ...set,
    status: await periodStatus(root, period),
    sources: sourceTotals(groups as (ChargeGroup & { file: string })[]),
    flag_counts: {
      pending: flagsFile.flags.filter((f) => f.status === 'pending').length,
      approved: flagsFile.flags.filter((f) => f.status === 'approved').length,
      rejected: flagsFile.flags.filter((f) => f.status === 'rejected').length,
    },
    flags: flagsFile.flags,
    files,
    flagged: flaggedGroups(groups as (ChargeGroup & { file: string })[]),
  };
}

/**
 * A plain CSV (or plain copy) whose last line is longer than a line may be: DuckDB would drop it
 * without a word (see lastLineLonger). A .csv.gz read as such is inflated to be checked
 * (verifyBytes, beside the report's pass).
 */
async function refuseLongLastLines(files: ChargeFile[]): Promise<void> {
  for (const f of files) {
    const read = csvBytes(f.file);
    if (f.file.format !== 'csv' || read.compression !== 'none') continue;
    if (await lastLineLonger(read.path, MAX_LINE_BYTES))
      throw invalidInput(
        { file: f.file.display },
        'line too long',
        `lines of at most ${MAX_LINE_BYTES.toLocaleString('en-US')} bytes`,
        'a longer last line',
        'restore the file from git, or ingest the export again with --replace: ingest refuses such lines',
      );
  }
}

/** Whether a CSV file is read from its gzip-compressed bytes (a .csv.gz of which no plain copy is kept). */
const readAsGzip = (f: ChargeFile) => f.file.format === 'csv' && csvBytes(f.file).compression === 'gzip';

/**
 * Where a check of a file's bytes that passed is remembered, by what the file holds (its content
 * id) and what the check asks: validate checks every data file of every period on each run, and
 * would otherwise read (and inflate) all of them again, 0.5 s a million-row `.csv.gz` month. CI
 * keeps these marks with its other caches.
 */
export async function checkedMarker(root: string, path: string): Promise<string> {
  const [id] = await contentIds([path], rememberedHashesDir(root));
  return join(layout.cacheDir(root, 'checked'), `${sha256Text(`bytes-check 1, lines up to ${MAX_LINE_BYTES}: ${id}`)}.ok`);
}

/** Every CSV file's bytes as ingest checked them: whole gzip streams, no NUL bytes, no line too long. */
async function verifyBytes(root: string, files: ChargeFile[], signal = new AbortController().signal): Promise<void> {
  const checked: string[] = [];
  for (const f of files) {
    if (f.file.format !== 'csv') continue;
    const marker = await checkedMarker(root, f.file.path);
    checked.push(marker);
    if (existsSync(marker)) continue;
    const scanned = await scanBytes(f.file.path, f.file.compression, signal).catch((e) => {
      if (e instanceof CorruptGzip) throw corruptGzip(f, e.message);
      throw e;
    });
    if (scanned.nul)
      throw new UserError('a NUL byte: not a text file', {
        location: { file: f.file.display, ...scanned.nul },
        hint: 'the stored export was changed after ingest; restore it from git, or ingest the export again with --replace',
      });
    // DuckDB's parallel reader drops a last line longer than its buffer without a word (see scanFile).
    if (scanned.longest.bytes > MAX_LINE_BYTES)
      throw lineTooLong({ file: f.file.display, line: scanned.longest.line }, MAX_LINE_BYTES, scanned.longest.bytes);
    await writeCacheFile(marker, '').catch(() => {}); // a cache that cannot be written only costs a check
    if (f.file.compression === 'gzip') await rememberValue(rememberedHashesDir(root), f.file.path, INFLATED_BYTES, String(scanned.bytes));
  }
  if (checked.length > 0) await touchAndPrune(layout.cacheDir(root, 'checked'), checked).catch(() => {});
}

/** Rows of one content held for review: where they are, how many, what one of them bills (exact, in units of 10^-SCALE), and to whom as its tags say. */
export interface FlaggedCharge {
  source: string;
  file: string;
  row_hash: string;
  rows: number;
  currency: string;
  cost: bigint;
  list: bigint;
  pi_email: string | null;
  project_id: string | null;
  fund_org: string | null;
  service: string | null;
}

function flaggedGroups(groups: (ChargeGroup & { file: string })[]): FlaggedCharge[] {
  const m = new Map<string, FlaggedCharge>();
  for (const g of groups) {
    if (g.row_hash === null) continue;
    // Rows of one hash are one content: a group's sums are its rows' amount times their count.
    const one = (sum: string) => parseDecimal(sum) / BigInt(g.rows);
    const t = m.get(g.row_hash) ?? {
      source: g.source,
      file: g.file,
      row_hash: g.row_hash,
      rows: 0,
      currency: g.currency,
      cost: one(g.cost),
      list: one(g.list),
      pi_email: g.pi_email,
      project_id: g.project_id,
      fund_org: g.fund_org,
      service: g.service,
    };
    t.rows += g.rows;
    m.set(g.row_hash, t);
  }
  return [...m.values()];
}

/** Every charge of a period's files, one UNION ALL over each file's normalised charges. */
export function periodChargesSql(
  files: ChargeFile[],
  config: Config,
  period: string,
  params: Params,
  options: Pick<ChargesOptions, 'inFileOrder'> = {},
): string {
  return files
    .map(
      (f) =>
        `SELECT ${fileColumnsSql(f, params)}, ${chargeProjection} FROM (${chargesSql(f, { config, period, attributes: REPORT_ATTRIBUTES, ...options }, params)})`,
    )
    .join('\nUNION ALL\n');
}

const chargeProjection = `resource_id, resource_name, charge_start, currency, account_code, pi_email, project_id, fund_org, service, category, row_hash, cost, list_cost, ${ROW_ERRORS.join(', ')}`;

function sourceTotals(groups: (ChargeGroup & { file: string })[]): SourceTotals[] {
  const m = new Map<string, { source: string; file: string; currency: string; rows: number; list: bigint; billed: bigint }>();
  for (const g of groups) {
    const id = `${g.file}\u0000${g.currency}`;
    const t = m.get(id) ?? { source: g.source, file: g.file, currency: g.currency, rows: 0, list: 0n, billed: 0n };
    t.rows += g.rows;
    t.list += parseDecimal(g.list);
    t.billed += parseDecimal(g.cost);
    m.set(id, t);
  }
  return [...m.values()]
    .sort((a, b) => compareText(a.file, b.file) || compareText(a.currency, b.currency))
    .map((t) => ({ ...t, list: formatUnits(t.list, SCALE), billed: formatUnits(t.billed, SCALE) }));
}
