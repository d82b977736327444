/**
 * `accounts.yaml`: who owns what a converter measures. A Slurm account, a storage path (a glob)
 * or a VM name (a glob) maps to the PI, project and fund/org its charges are billed to. Usage
 * that maps to nobody is converted without those tags, so `ingest` holds it for review: nothing
 * is dropped, and nothing is billed to a guess.
 */
import { z } from 'zod';
import { UserError } from '../core/errors.ts';
import { parseYamlLocated, readText } from '../core/yaml-file.ts';
import { pathSpelling } from '../domain/path-spelling.ts';
import { attributionProblem } from '../domain/rules.ts';
import { globMatch } from '../rates/rates.ts';

export const ACCOUNTS_FILE = 'accounts.yaml';

/**
 * A code that may be written bare. loadAccounts reads bare numbers as the text written
 * (numbersAsWritten), so a number never reaches here from the file; the union is what the JSON
 * Schema gives editors, which would otherwise mark `fund_org: 100100` wrong where the tool takes it.
 */
const code = () => z.union([z.string(), z.number()]).transform(String);

const owner = {
  pi_email: z.string().refine((v) => attributionProblem('pi_email', v) === null, 'expected an email address'),
  project_id: code().refine((v) => attributionProblem('project_id', v) === null, 'expected a project id'),
  fund_org: code().refine((v) => attributionProblem('fund_org', v) === null, 'expected a fund/org'),
  cost_center: code().optional(),
};

export const accountsFileSchema = z
  .object({
    /** Slurm accounts. @example { account: chen-lab, pi_email: w.chen@example.edu, project_id: climate, fund_org: "100100-1000" } */
    accounts: z.array(z.object({ account: code().pipe(z.string().min(1)), ...owner }).strict()).default([]),
    /** Storage paths (globs: * within a folder, ** across folders) and their tier. */
    storage: z.array(z.object({ path: z.string().min(1), tier: z.string().min(1).optional(), ...owner }).strict()).default([]),
    /** Virtual machines by name (globs), for inventories that carry no owner tags. */
    vms: z.array(z.object({ name: z.string().min(1), ...owner }).strict()).default([]),
  })
  .strict();

export type AccountsFile = z.infer<typeof accountsFileSchema>;
export type Owner = { pi_email: string; project_id: string; fund_org: string; cost_center?: string };

const HINT = 'see docs/sources/TEMPLATE.md#owners for the shape of accounts.yaml';

export async function loadAccounts(path: string, display = ACCOUNTS_FILE, required = false): Promise<AccountsFile> {
  const text = await readText(path, display);
  if (text === null) {
    if (required) throw new UserError(`no ${display}`, { hint: 'pass --accounts <file>, or create accounts.yaml at the repository root' });
    return { accounts: [], storage: [], vms: [] };
  }
  // Codes written bare (fund_org: 0012345, account: 4410) are kept as written, leading zeros and all.
  const { data, locate } = parseYamlLocated(text, display, accountsFileSchema, HINT, { accounts: [] }, { numbersAsWritten: true });
  // An account has one owner; a path or name glob written twice leaves the second entry, with
  // whatever owner it names, matching nothing (the first match wins).
  const once = (list: 'accounts' | 'storage' | 'vms', field: string, values: string[], why: string) => {
    const seen = new Map<string, number>();
    values.forEach((v, i) => {
      const before = seen.get(v);
      if (before !== undefined)
        throw new UserError(`${list}.${i}.${field}: ${v} is also ${list}.${before}: ${why}`, {
          location: locate([list, i, field]),
          hint: HINT,
        });
      seen.set(v, i);
    });
  };
  once(
    'accounts',
    'account',
    data.accounts.map((a) => a.account.toLowerCase()),
    'each account has one owner (Slurm keeps account names in lower case)',
  );
  once(
    'storage',
    'path',
    data.storage.map((s) => pathSpelling(s.path)),
    'the first entry for a path wins, so this one would never match',
  );
  once(
    'vms',
    'name',
    data.vms.map((v) => v.name),
    'the first entry for a name wins, so this one would never match',
  );
  return data;
}

const ownerOf = (o: Owner): Owner => ({
  pi_email: o.pi_email,
  project_id: o.project_id,
  fund_org: o.fund_org,
  ...(o.cost_center ? { cost_center: o.cost_center } : {}),
});

const byAccount = new WeakMap<AccountsFile, Map<string, Owner>>();

/**
 * The owner of a Slurm account (looked up in a map: a million jobs ask). Slurm keeps account
 * names in lower case, so `Chen-Lab` in accounts.yaml is the chen-lab sacct prints.
 */
export function accountOwner(accounts: AccountsFile, account: string): Owner | undefined {
  let owners = byAccount.get(accounts);
  if (!owners) {
    owners = new Map(accounts.accounts.map((a) => [a.account.toLowerCase(), ownerOf(a)]));
    byAccount.set(accounts, owners);
  }
  return owners.get(account) ?? owners.get(account.toLowerCase());
}

/** The storage entry owning a path: the first whose glob matches, in file order. */
export function storageOwner(accounts: AccountsFile, path: string): (Owner & { tier?: string }) | undefined {
  const s = accounts.storage.find((x) => globMatch(x.path, path));
  return s ? { ...ownerOf(s), ...(s.tier ? { tier: s.tier } : {}) } : undefined;
}

export function vmOwner(accounts: AccountsFile, name: string): Owner | undefined {
  const v = accounts.vms.find((x) => globMatch(x.name, name));
  return v ? ownerOf(v) : undefined;
}
