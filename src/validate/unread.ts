/**
 * Files of a billing repository that no command reads, named by `validate` so that nothing is
 * left out without a word: an export outside a month's folder bills nothing, and an
 * `adjustments.yml`, a `Credits.yaml` or a `periods/2025-1/` applies nothing (on a disk that
 * ignores case, as macOS and Windows do, `Credits.yaml` is read, and on CI's Linux it is not).
 *
 * - under `data/`: an export (`.csv`, `.csv.gz`, `.parquet`, any case) outside a month's folder
 *   is an error; any other file, or a folder inside a month's, a warning. A month's exports are
 *   checked by its report (`AWS.CSV` is no name the tool gives, and is refused there);
 * - under `periods/`: a record (flags, period, notes, deliveries, adjustments) under another name
 *   than the one read (`Flags.yaml`, `adjustments.yml`, `notes.md`) or outside a month's folder is
 *   an error; any other file a warning;
 * - at the top: a repository record under another name (`credits.yml`, `PIs.yaml`) is an error.
 *
 * Hidden files (`.DS_Store`, `.gitkeep`) are no one's business.
 */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDataFileName } from '../domain/identity.ts';
import { compareText } from '../domain/order.ts';
import { isPeriod } from '../domain/period.ts';
import { layout, relPath } from '../repo/layout.ts';
import { readPeriodFile } from '../repo/period-file.ts';
import { recordedExport } from '../repo/stored-export.ts';
import { isDataFileName } from '../report/period-report.ts';

export interface UnreadFinding {
  level: 'error' | 'warning';
  message: string;
  file: string;
  hint: string;
}

/** The records a month's folder under periods/ may hold, as the tool reads them. */
const PERIOD_RECORDS = ['flags.yaml', 'period.yaml', 'notes.mdx', 'deliveries.yaml', 'adjustments.yaml'];
/** The records at the top of the repository read by name. */
const ROOT_RECORDS = ['config.yaml', 'pis.yaml', 'rates.yaml', 'accounts.yaml', 'credits.yaml'];

const STORE_HINT =
  'store exports with `focus-billing ingest <file> --source <name> [--period YYYY-MM]`, which puts them in data/<YYYY-MM>/ under the name it reads; or `git mv` it there';
const NOT_NEEDED = 'take it out (git rm) if it is not needed';

export async function unreadFiles(root: string): Promise<UnreadFinding[]> {
  return [...(await unreadData(root)), ...(await unreadPeriods(root)), ...(await misnamedRoot(root))];
}

async function unreadData(root: string): Promise<UnreadFinding[]> {
  const out: UnreadFinding[] = [];
  const unread = (path: string, why: string) => {
    const exported = isDataFileName(path);
    out.push({
      level: exported ? 'error' : 'warning',
      message: `not read, as ${why}${exported ? ': its charges are on no statement' : ''}`,
      file: path,
      hint: exported ? STORE_HINT : `${NOT_NEEDED}: only exports stored by \`focus-billing ingest\` are read under data/`,
    });
  };
  for (const entry of await visibleEntries(layout.dataDir(root))) {
    const path = relPath('data', entry.name);
    if (!entry.isDirectory()) unread(path, 'exports are stored in a folder of their month, data/<YYYY-MM>/');
    else if (!isPeriod(entry.name))
      for (const file of await visibleFiles(join(layout.dataDir(root), entry.name), path))
        unread(file, `${path}/ is no month's folder (YYYY-MM)`);
    else {
      const entries = await visibleEntries(join(layout.dataDir(root), entry.name));
      for (const f of entries) {
        const file = relPath(path, f.name);
        // What ingest recorded of an export it compressed: left behind when the export went by git rm.
        const stored = recordedExport(f.name);
        if (f.isDirectory()) unread(`${file}/`, "a month's folder holds its exports alone");
        else if (stored !== null) {
          const slug = parseDataFileName(stored)?.slug;
          if (slug === undefined) unread(file, 'no stored export is named so (<source>.csv, .csv.gz or .parquet)');
          else if (!entries.some((e) => e.name === stored))
            out.push({
              level: 'warning',
              message: `the record of ${relPath(path, stored)}, which is no longer stored: it bills nothing`,
              file,
              hint: `take it out with \`focus-billing remove --period ${entry.name} --source ${slug}\` (it takes that source's flags too), or git rm it`,
            });
        } else if (!isDataFileName(f.name)) unread(file, 'no stored export is named so (<source>.csv, .csv.gz or .parquet)');
      }
    }
  }
  return out;
}

async function unreadPeriods(root: string): Promise<UnreadFinding[]> {
  const out: UnreadFinding[] = [];
  for (const entry of await visibleEntries(layout.periodsDir(root))) {
    const path = relPath('periods', entry.name);
    if (!entry.isDirectory()) {
      out.push(otherFile(path, "a month's records are kept in its folder, periods/<YYYY-MM>/", PERIOD_RECORDS));
    } else if (!isPeriod(entry.name)) {
      for (const file of await visibleFiles(join(layout.periodsDir(root), entry.name), path))
        out.push(otherFile(file, `${path}/ is no month's folder (YYYY-MM)`, PERIOD_RECORDS));
    } else {
      // A closed period issued its statements without the file: renamed now, it would change them.
      const closed = (await readPeriodFile(root, entry.name).catch(() => null))?.status === 'closed';
      for (const f of await visibleEntries(join(layout.periodsDir(root), entry.name))) {
        const file = relPath(path, f.name);
        const found = f.isDirectory()
          ? otherFile(`${file}/`, "a month's folder holds its records alone", [])
          : PERIOD_RECORDS.includes(f.name)
            ? null
            : (misnamed(file, f.name, PERIOD_RECORDS) ?? otherFile(file, 'the tool reads no file of that name', []));
        if (found && closed && found.level === 'error')
          out.push({
            ...found,
            level: 'warning',
            message: `${found.message}; ${entry.name} is closed, and issued its statements without it`,
            hint: `leave it, or take it out (git rm): renamed, it would change what a closed period issued (reopen ${entry.name} first to apply it)`,
          });
        else if (found) out.push(found);
      }
    }
  }
  return out;
}

async function misnamedRoot(root: string): Promise<UnreadFinding[]> {
  const out: UnreadFinding[] = [];
  for (const entry of await visibleEntries(root)) {
    if (entry.isDirectory() || ROOT_RECORDS.includes(entry.name)) continue;
    const found = misnamed(entry.name, entry.name, ROOT_RECORDS);
    if (found) out.push(found);
  }
  return out;
}

/** The record a file's name means, in any capitals and as `.yml` or `.md` (`Flags.yml` means flags.yaml), or undefined. */
function recordMeant(name: string, records: string[]): string | undefined {
  const stem = (n: string) => n.toLowerCase().replace(/\.(ya?ml|mdx?)$/, '');
  return records.find((r) => stem(r) === stem(name));
}

/** A file named as a record but not as the tool reads it (other capitals, `.yml`, `.md`): an error naming the name read. */
function misnamed(path: string, name: string, records: string[]): UnreadFinding | null {
  const meant = recordMeant(name, records);
  if (!meant) return null;
  const caseOnly = meant.toLowerCase() === name.toLowerCase();
  return {
    level: 'error',
    message: `not read, as the tool reads ${meant}${caseOnly ? ' (a disk that ignores case, as macOS and Windows have, reads it; Linux and CI do not)' : ''}: what it holds is not applied`,
    file: path,
    hint: `rename it: git mv ${path} ${relPath(...path.split('/').slice(0, -1), meant)}`,
  };
}

/** A file no command reads: an error where it is a record out of place, a warning otherwise. */
function otherFile(path: string, why: string, records: string[]): UnreadFinding {
  const record = recordMeant(path.split('/').pop() ?? '', records);
  return record
    ? {
        level: 'error',
        message: `not read, as ${why}: what it holds is not applied`,
        file: path,
        hint: `move it into its month's folder: periods/<YYYY-MM>/${record}`,
      }
    : { level: 'warning', message: `not read, as ${why}`, file: path, hint: NOT_NEEDED };
}

/** A folder's entries but hidden ones, by name; none where it cannot be read. */
async function visibleEntries(dir: string): Promise<Dirent[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
  return entries.filter((e) => !e.name.startsWith('.')).sort((a, b) => compareText(a.name, b.name));
}

/** The files below a folder, hidden ones and those in hidden folders left out, as paths under `shown`. */
async function visibleFiles(dir: string, shown: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await visibleEntries(dir)) {
    if (e.isDirectory()) out.push(...(await visibleFiles(join(dir, e.name), relPath(shown, e.name))));
    else out.push(relPath(shown, e.name));
  }
  return out;
}
