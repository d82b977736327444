/**
 * @duckdb/node-api, loaded with require() when first used. It is CommonJS: imported as an ES
 * module, Node scanned its source for named exports (cjs-module-lexer) on every run, 60-90 ms of
 * each command's start here (loading it: 136-181 ms imported, 65-90 ms required), and every
 * command loaded it, `--version` and `review list` too, which never open a database.
 */
import { createRequire } from 'node:module';

type NodeApi = typeof import('@duckdb/node-api');
let loaded: NodeApi | undefined;

export function nodeApi(): NodeApi {
  loaded ??= createRequire(import.meta.url)('@duckdb/node-api') as NodeApi;
  return loaded;
}
