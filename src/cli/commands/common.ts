/** Options and set-up shared by commands. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { type Database, withDatabase } from '../../db/duckdb.ts';
import type { Io } from '../output.ts';

export interface RootOptions {
  root: string;
  json?: boolean;
}

export function withRoot(cmd: Command): Command {
  return cmd.option('--root <dir>', 'billing repository folder', '.');
}

/** Loads the repository's config and opens DuckDB for the length of `fn`. */
export async function inRepository<T>(
  opts: RootOptions,
  io: Io,
  fn: (ctx: { root: string; config: Config; db: Database }) => Promise<T>,
): Promise<T> {
  const root = resolve(opts.root);
  const config = await loadConfig(root);
  return withDatabase((db) => {
    // Long reads (a month of millions of rows) say how far they are, on a terminal.
    db.watchProgress((percent) => io.progress(`  ${percent}% read`));
    return fn({ root, config, db });
  });
}
