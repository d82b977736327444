/** `focus-billing convert slurm|storage|vms|usage`: a research computing group's own usage as FOCUS. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ACCOUNTS_FILE, loadAccounts } from '../../convert/accounts.ts';
import type { ConvertReport } from '../../convert/focus-writer.ts';
import { formatMoney } from '../../core/currency.ts';
import { UserError } from '../../core/errors.ts';
import { alignDecimals, readableDecimal } from '../../core/money.ts';
import { loadRates, RATES_FILE } from '../../rates/rates.ts';
import { checkOutputPath } from '../../repo/outputs.ts';
import { sameExportTwice } from '../../repo/stored-export.ts';
import { type Io, plural, printJson, table } from '../output.ts';
import { checkPeriod, fileOut, quotedName, type RootOptions, withRoot } from './common.ts';

interface ConvertOptions extends RootOptions {
  period?: string;
  rates?: string;
  accounts?: string;
  out?: string;
  timezone?: string;
  format?: string;
}

/** The common options of every converter. */
function converterCommand(parent: Command, name: string, description: string, args: string): Command {
  return withRoot(
    parent
      .command(name)
      .description(description)
      .argument(args, 'input file(s); .gz is read as it is')
      .option('--rates <file>', `the price list (default: ${RATES_FILE} in --root)`)
      .option('--accounts <file>', `who owns what (default: ${ACCOUNTS_FILE} in --root)`)
      .option('--out <file>', 'the FOCUS CSV to write (default, or -: standard output, the report on standard error)', fileOut)
      .option('--json', 'print the report as JSON (with --out)'),
  );
}

/** Loads the rates and accounts, runs a converter, and reports what it did. */
async function run(io: Io, opts: ConvertOptions, files: string[], convert: (ctx: Context) => Promise<ConvertReport>): Promise<void> {
  const root = resolve(opts.root);
  const ratesFile = { path: resolve(root, opts.rates ?? RATES_FILE), display: opts.rates ?? RATES_FILE };
  const accountsFile = { path: resolve(root, opts.accounts ?? ACCOUNTS_FILE), display: opts.accounts ?? ACCOUNTS_FILE };
  const rates = await loadRates(ratesFile.path, ratesFile.display);
  const accounts = await loadAccounts(accountsFile.path, accountsFile.display, opts.accounts !== undefined);
  const out = opts.out ? await checkOutputPath(root, resolve(opts.out), '--out', 'file') : undefined;
  if (opts.json && !out)
    throw new UserError('--json needs --out: the FOCUS rows go to standard output otherwise', { hint: 'pass --out <file.csv>' });
  const inputs = files.map((f) => ({ path: resolve(f), display: quotedName(f) }));
  await checkInputs(inputs, out && opts.out ? { path: out, display: opts.out } : undefined, [ratesFile, accountsFile]);
  const report = await convert({
    files: inputs,
    rates,
    accounts,
    out,
    outDisplay: opts.out,
    progress: io.progress,
  });
  // Without --out the rows went to standard output: the report goes to standard error.
  const say = out ? io.out : io.err;
  if (opts.json) return printJson(io, report);
  say(describeConvert(report));
}

type Named = { path: string; display: string };

/**
 * Refuses, before anything is read or written, inputs that would be billed twice (one file named
 * twice, by any path or link, or two files with the same bytes, one of them gzip-compressed
 * perhaps) and an --out that is one of the command's own files, which the conversion would
 * replace with its output.
 */
async function checkInputs(inputs: Named[], out: Named | undefined, settings: Named[]): Promise<void> {
  const twice = await sameExportTwice(inputs, { header: false }).catch(() => null); // a missing file is the reader's to report
  if (twice) {
    const [a, b] = twice.files;
    throw new UserError(
      `${b.display} ${twice.sameFile ? 'is the same file as' : 'has the same bytes as'} ${a.display}: its records would be billed twice`,
      {
        hint: 'give each input once; nothing was written',
      },
    );
  }
  const target = out && (await stat(out.path).catch(() => null));
  if (!out || !target) return;
  for (const [i, f] of [...inputs, ...settings].entries()) {
    const s = await stat(f.path).catch(() => null);
    if (s && s.dev === target.dev && s.ino === target.ino)
      throw new UserError(
        `--out ${out.display} is ${i < inputs.length ? 'the input' : 'the settings file'} ${f.display}, which the conversion would replace`,
        {
          hint: 'write the FOCUS CSV to a new file, e.g. --out focus-<period>.csv; nothing was written',
        },
      );
  }
}

export interface Context {
  files: { path: string; display: string }[];
  rates: Awaited<ReturnType<typeof loadRates>>;
  accounts: Awaited<ReturnType<typeof loadAccounts>>;
  out?: string;
  outDisplay?: string;
  progress: (text: string) => void;
}

export function registerConvert(program: Command, io: Io): void {
  const convert = program
    .command('convert')
    .description('turn your own usage data into FOCUS CSV for ingest: Slurm accounting, storage quotas, VM inventories, any usage table');

  converterCommand(
    convert,
    'slurm',
    'Slurm accounting (sacct --parsable2) to FOCUS: core-, GPU- and memory-hours priced by rates.yaml',
    '<files...>',
  )
    .requiredOption('--period <YYYY-MM>', 'the month to bill: each job is billed for the part of its run inside it')
    .option('--timezone <zone>', 'the time zone of sacct times (run sacct with TZ=UTC and leave this out)', 'UTC')
    .addHelpText(
      'after',
      `
Take the input with (a month, end exclusive; UTC):
  TZ=UTC sacct --allusers --allocations --parsable2 --starttime 2025-03-01 --endtime 2025-04-01 \\
    --format=JobID,JobName,Account,Partition,State,Start,End,Elapsed,AllocTRES > sacct-2025-03.txt
Then: focus-billing convert slurm sacct-2025-03.txt --period 2025-03 --out hpc-2025-03.csv
      focus-billing ingest hpc-2025-03.csv --source HPC
See docs/sources/slurm.md for which jobs are billed and how.`,
    )
    .action(async (files: string[], opts: ConvertOptions) => {
      const period = checkPeriod(opts.period as string, '--period');
      const { convertSlurm } = await import('../../convert/slurm.ts');
      const { checkTimeZone } = await import('../../convert/time.ts');
      const timezone = checkTimeZone(opts.timezone ?? 'UTC');
      await run(io, opts, files, (ctx) => convertSlurm({ ...ctx, period, timezone }));
    });

  converterCommand(
    convert,
    'storage',
    'storage quota reports (Isilon, Qumulo, or date,path,used_bytes CSV) to FOCUS: average use priced per TB-month',
    '<files...>',
  )
    .requiredOption('--period <YYYY-MM>', 'the month to bill')
    .requiredOption('--format <format>', 'isilon (isi quota quotas list --format json), qumulo (quota status JSON), or csv')
    .option(
      '--nested <how>',
      'paths under one another: subtract (a path holds the use of those under it, as quotas, du, ZFS and Ceph count it) or separate (each counts its own bytes, as GPFS filesets)',
      'subtract',
    )
    .addHelpText('after', '\nSee docs/sources/storage.md for the commands that take each report, and how use is averaged.')
    .action(async (files: string[], opts: ConvertOptions & { nested: string }) => {
      const period = checkPeriod(opts.period as string, '--period');
      const { convertStorage, nestedMode, STORAGE_FORMATS } = await import('../../convert/storage.ts');
      if (!(STORAGE_FORMATS as readonly string[]).includes(opts.format ?? ''))
        throw new UserError(`--format ${JSON.stringify(opts.format)}: expected one of ${STORAGE_FORMATS.join(', ')}`);
      const nested = nestedMode(opts.nested, '--nested');
      await run(io, opts, files, (ctx) =>
        convertStorage({ ...ctx, period, format: opts.format as (typeof STORAGE_FORMATS)[number], nested }),
      );
    });

  converterCommand(
    convert,
    'vms',
    'a VM inventory (CSV or JSON: Hyper-V, Azure Local, Proxmox, VMware) to FOCUS: VM-months prorated by day',
    '<files...>',
  )
    .requiredOption('--period <YYYY-MM>', 'the month to bill')
    .addHelpText('after', '\nSee docs/sources/local-vms.md for the commands that export an inventory, and how VMs are prorated.')
    .action(async (files: string[], opts: ConvertOptions) => {
      const period = checkPeriod(opts.period as string, '--period');
      const { convertVms } = await import('../../convert/vms.ts');
      await run(io, opts, files, (ctx) => convertVms({ ...ctx, period }));
    });

  converterCommand(
    convert,
    'usage',
    'any usage table (date,pi_email,project_id,fund_org,service,resource,quantity,unit) to FOCUS, priced by rates.yaml',
    '<files...>',
  )
    .option('--period <YYYY-MM>', 'the month (default: the month of its dates, which must all be one)')
    .addHelpText('after', '\nThe generic way in for a new source: see docs/sources/TEMPLATE.md.')
    .action(async (files: string[], opts: ConvertOptions) => {
      const period = opts.period === undefined ? undefined : checkPeriod(opts.period, '--period');
      const { convertUsage } = await import('../../convert/usage.ts');
      await run(io, opts, files, (ctx) => convertUsage({ ...ctx, period }));
    });
}

export function describeConvert(r: ConvertReport): string {
  const money = (v: string) => formatMoney(v, r.currency);
  const lines = [
    `Converted ${plural(r.records, 'record')} from ${r.files.join(', ')} for ${r.period}${r.out ? ` → ${r.out}` : ''}: ${plural(r.charges, 'charge')}`,
    `  billed      ${plural(r.billed, 'record')}`,
  ];
  const skipped = Object.entries(r.not_billed);
  if (skipped.length) lines.push(`  not billed  ${skipped.map(([why, n]) => `${why} ${n.toLocaleString('en-US')}`).join(', ')}`);
  for (const u of r.unmapped)
    lines.push(
      `  unmapped    ${u.owner}: ${u.quantity} ${u.unit}${u.quantity === '1' ? '' : 's'} (${plural(u.records, 'record')}), converted without a PI: ingest holds them for review`,
    );
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  const quantities = alignDecimals(r.rates.map((t) => readableDecimal(t.quantity, 0)));
  lines.push(
    '',
    table(
      ['Rate', 'Service', 'Unit', 'Quantity', 'List', 'Billed'],
      [
        // Quantities exact, grouped, their points in one column.
        ...r.rates.map((t, i) => [t.rate, t.service, t.unit, quantities[i] as string, money(t.list), money(t.billed)]),
        ['Total', '', '', '', money(r.total_list), money(r.total_billed)],
      ],
      ['l', 'l', 'l', 'r', 'r', 'r'],
    ),
  );
  return lines.join('\n');
}
