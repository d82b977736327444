/**
 * The one place that talks to DuckDB. Results come back as JSON-safe rows: DECIMAL and BIGINT
 * as exact strings (never JavaScript numbers).
 */
import { rmSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBResultReader, DuckDBValue } from '@duckdb/node-api';
import { UserError } from '../core/errors.ts';
import { nodeApi } from './node-api.ts';

export type Row = Record<string, unknown>;

/** A query's rows, and the JSON text they were read from (`Database.queryJson`). */
export interface JsonRows<T> {
  rows: T[];
  text: string;
}

/**
 * What every connection is set to. Naive timestamps in FOCUS files are UTC, and periods are UTC
 * months, whatever the machine's zone; progress is tracked (for watchProgress), never printed by
 * DuckDB itself.
 */
const SESSION = ["TimeZone = 'UTC'", 'enable_progress_bar = true', 'enable_progress_bar_print = false'];

async function setSession(connection: DuckDBConnection, settings: string[]): Promise<void> {
  for (const setting of settings) await connection.run(`SET SESSION ${setting}`);
}

/**
 * How a `read_csv` of the tool's reads its file, as SQL: NULL at first, then 1 or 2 while the
 * connection reads again a file DuckDB's parallel reader refused (`Database.run`). That reader
 * checks that its threads split the file at the same lines, and refuses a file where they did
 * not ("does not support a full read on this file"): seen with lines of 200 KB and more in 4 MB
 * buffers. Read again with 32 MB buffers (1), then by one thread (2: DuckDB's own advice, but
 * then 2,048 rows go through each step at once, over 600 MB with 300 KB lines).
 */
export const CSV_RETRY_SQL = "getvariable('openchargeback_csv_retry')";
const PARALLEL_CSV_REFUSED = /Parallel CSV Reader currently does not support a full read/i;

export class Database {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly spillDir: string,
  ) {}

  static async open(options: { threads?: number; memoryLimit?: string } = {}): Promise<Database> {
    // The default, relied on: a table made from one file's scan keeps the file's row order, so
    // rowid is the record number (see scanFile).
    // Where DuckDB spills what outgrows memory: its default, `.tmp` in the working directory,
    // would be the billing repository. Created only if needed; removed on close.
    const spillDir = join(tmpdir(), `openchargeback-duckdb-${process.pid}-${++opened}`);
    const settings: Record<string, string> = {
      preserve_insertion_order: 'true',
      temp_directory: spillDir,
      memory_limit: options.memoryLimit ?? memoryLimit(),
    };
    if (options.threads) settings.threads = String(options.threads);
    const instance = await nodeApi()
      .DuckDBInstance.create(':memory:', settings)
      .catch((e: Error) => {
        // A size that reads as one but is more than DuckDB takes (99999999TB): DuckDB names no setting.
        if (process.env.OCB_MEMORY_LIMIT && /Failed to set config/i.test(e.message)) throw badMemoryLimit(process.env.OCB_MEMORY_LIMIT);
        throw e;
      });
    const connection = await instance.connect();
    await setSession(connection, SESSION);
    return new Database(instance, connection, spillDir);
  }

  private onProgress: ((percent: number) => void) | undefined;
  private unordered: DuckDBConnection | undefined;

  /** Calls `fn` about once a second with a running query's progress (whole percent, each value once). */
  watchProgress(fn: (percent: number) => void): void {
    this.onProgress = fn;
  }

  async query<T = Row>(sql: string, params: Record<string, DuckDBValue> = {}): Promise<T[]> {
    return this.run(sql, params, (reader) => reader.getRowObjectsJson() as unknown as T[]);
  }

  /**
   * The rows as DuckDB writes them in one JSON array, and that text: every value as text (exact
   * decimals and large integers as DuckDB prints them, booleans as "true" or "false"), NULL as
   * null. For results of many rows: turning the 40,920 report rows of a 10M-row month into
   * objects value by value (`query`) took 0.46–0.52 s, and caching them meant serialising them
   * again (about 0.2 s with the write); DuckDB writes and hands over the text in 0.25–0.33 s,
   * and JSON.parse reads it in 0.1–0.2 s, the text cached as it is.
   */
  async queryJson<T = Row>(sql: string, params: Record<string, DuckDBValue> = {}): Promise<JsonRows<T>> {
    const [row] = await this.query<{ rows: string }>(
      `SELECT coalesce(string_agg(to_json(x)::VARCHAR, ','), '') AS rows FROM (SELECT COLUMNS(*)::VARCHAR FROM (${sql})) x`,
      params,
    );
    const text = `[${row?.rows ?? ''}]`;
    return { rows: JSON.parse(text) as T[], text };
  }

  /**
   * Runs a statement whose rows' order nothing relies on (a table of grouped rows) on a connection
   * of its own that need not keep insertion order. Grouping a 10M-row month into ten million
   * groups took 58-61 s so, against 66-73 s keeping each thread's rows in order. What it makes
   * must be a table of the database (a TEMP table is seen by its own connection only).
   */
  async runUnordered(sql: string, params: Record<string, DuckDBValue> = {}): Promise<void> {
    if (!this.unordered) {
      this.unordered = await this.instance.connect();
      await setSession(this.unordered, [...SESSION, 'preserve_insertion_order = false']);
    }
    await this.run(sql, params, () => undefined, this.unordered);
  }

  private async run<T>(
    sql: string,
    params: Record<string, DuckDBValue>,
    read: (reader: DuckDBResultReader) => T,
    connection = this.connection,
  ): Promise<T> {
    const report = this.onProgress;
    let shown = -1;
    const timer = report
      ? setInterval(() => {
          const percent = Math.floor(connection.progress.percentage);
          if (percent <= shown || percent >= 100) return;
          shown = percent;
          report(percent);
        }, 1000)
      : undefined;
    try {
      try {
        return read(await connection.runAndReadAll(sql, params));
      } catch (e) {
        if (!PARALLEL_CSV_REFUSED.test((e as Error).message ?? '')) throw e;
        return read(await this.csvRetry(connection, () => connection.runAndReadAll(sql, params)));
      }
    } catch (e) {
      throw OUT_OF_MEMORY.test((e as Error).message ?? '') ? outOfMemory(e) : e;
    } finally {
      clearInterval(timer);
    }
  }

  /** How each connection is reading CSV files again (CSV_RETRY_SQL), and for how many statements. */
  private readonly csvRetries = new Map<DuckDBConnection, { level: number; running: number }>();

  /**
   * Runs `fn` with the connection's CSV files read as CSV_RETRY_SQL says, level by level. Other
   * statements that start meanwhile read so too (the same rows, more slowly); the first way
   * comes back when none is retrying.
   */
  private async csvRetry<T>(connection: DuckDBConnection, fn: () => Promise<T>): Promise<T> {
    const state = this.csvRetries.get(connection) ?? { level: 0, running: 0 };
    this.csvRetries.set(connection, state);
    state.running++;
    try {
      for (let level = 1; ; level++) {
        if (state.level < level) {
          state.level = level;
          await connection.run(`SET VARIABLE openchargeback_csv_retry = ${level}`);
        }
        try {
          return await fn();
        } catch (e) {
          if (level === 2 || !PARALLEL_CSV_REFUSED.test((e as Error).message ?? '')) throw e;
        }
      }
    } finally {
      if (--state.running === 0) {
        state.level = 0;
        await connection.run('RESET VARIABLE openchargeback_csv_retry');
      }
    }
  }

  close(): void {
    this.unordered?.closeSync();
    this.connection.closeSync();
    this.instance.closeSync();
    rmSync(this.spillDir, { recursive: true, force: true });
  }
}

let opened = 0;

/**
 * What DuckDB may hold in memory before it spills to `temp_directory`: 2 GiB, or half the
 * machine's memory on a smaller one. DuckDB's own default (80% of the machine) leaves nothing
 * for Node's heap beside it (a small CI runner has 7 GB). A 10M-row month's charge details
 * peaked at 4.9 GB with it, and at 3.05 GB with this, spilling, for about a tenth more time
 * (106 s against 97 s, one run each in one process).
 */
const DEFAULT_MEMORY_LIMIT = `${Math.floor(Math.min(2 * 1024, totalmem() / 2 / 1024 / 1024))}MiB`;

/** DuckDB's memory limit: `OCB_MEMORY_LIMIT` (a size as DuckDB reads it: 4GiB, 6000MB) when set. */
function memoryLimit(): string {
  const set = process.env.OCB_MEMORY_LIMIT;
  if (!set) return DEFAULT_MEMORY_LIMIT;
  // DuckDB says only "Failed to set config" of a size it cannot read.
  if (!/^\d+(\.\d+)?\s*[KMGT]i?B$/i.test(set)) throw badMemoryLimit(set);
  return set;
}

function badMemoryLimit(set: string): UserError {
  return new UserError(`OCB_MEMORY_LIMIT=${JSON.stringify(set)}: expected a size such as 4GiB or 6000MB`, {
    hint: 'DuckDB may use this much memory; unset it for the default (2 GiB, or half of a smaller machine)',
  });
}

const OUT_OF_MEMORY = /^Out of Memory Error/i;

/**
 * DuckDB needed more memory than it may use: said as what to do, not as a bug. What needs it is
 * an input out of the ordinary (held rows of 300 KB names made 600 MB that DuckDB could not
 * hold in 2 GiB), so it exits as bad input does, with nothing written.
 */
export class OutOfMemory extends UserError {}

function outOfMemory(e: unknown): OutOfMemory {
  const detail = ((e as Error).message ?? '').split('\n')[0];
  return new OutOfMemory(`DuckDB needed more memory than it may use (memory_limit ${memoryLimit()}): ${detail}`, {
    hint: `very long texts in the rows (names or tags of hundreds of KB) are the usual cause; to use more of this machine's ${(totalmem() / 1024 ** 3).toFixed(0)} GB, set OCB_MEMORY_LIMIT (such as OCB_MEMORY_LIMIT=6GiB)`,
    cause: e,
  });
}

/** Runs `fn` with a fresh in-memory database, closing it afterwards. */
export async function withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await Database.open();
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}
