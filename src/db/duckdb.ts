/**
 * The one place that talks to DuckDB. Results come back as JSON-safe rows: DECIMAL and BIGINT
 * as exact strings (never JavaScript numbers).
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';

export type Row = Record<string, unknown>;

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
    const settings: Record<string, string> = { preserve_insertion_order: 'true', temp_directory: spillDir };
    if (options.threads) settings.threads = String(options.threads);
    if (options.memoryLimit) settings.memory_limit = options.memoryLimit;
    const instance = await DuckDBInstance.create(':memory:', settings);
    const connection = await instance.connect();
    // Naive timestamps in FOCUS files are UTC, and periods are UTC months, whatever the machine's zone.
    await connection.run("SET TimeZone = 'UTC'");
    return new Database(instance, connection, spillDir);
  }

  async query<T = Row>(sql: string, params: Record<string, DuckDBValue> = {}): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(sql, params);
    return reader.getRowObjectsJson() as unknown as T[];
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
    rmSync(this.spillDir, { recursive: true, force: true });
  }
}

let opened = 0;

/** Runs `fn` with a fresh in-memory database, closing it afterwards. */
export async function withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await Database.open();
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}
