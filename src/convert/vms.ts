/**
 * A VM inventory to FOCUS: each VM billed a `vm-month` rate for its size, prorated by the days it
 * existed in the month (a day it existed at any time counts whole: days / days in the month).
 * Whether a VM found stopped is billed is the rate's `bill_stopped` (default: yes).
 *
 * The inventory is CSV or JSON with these fields (names case-insensitive): name, size (or tier),
 * state (or PowerState, status), created (or CreationTime, CreateDate), deleted, and the owner as pi_email, project_id, fund_org (or accounts.yaml
 * `vms:` entries by name). Hyper-V / Azure Local `Get-VM | ConvertTo-Json` output is read as it
 * is too (Name, State, CreationTime, and the owner in Notes as `pi_email=…;project_id=…;fund_org=…`).
 */
import { UserError } from '../core/errors.ts';
import { periodDays } from '../domain/period.ts';
import { priceSpan, type Rates } from '../rates/rates.ts';
import { type AccountsFile, type Owner, vmOwner } from './accounts.ts';
import { type ConvertReport, FocusWriter, quantity, quantityText } from './focus-writer.ts';
import { csvRecord, readUtf8, separatorError, textLines } from './lines.ts';
import { RecordProblems } from './problems.ts';
import { calendarDay, periodSpan, wallTime } from './time.ts';

export interface VmsInput {
  files: { path: string; display: string }[];
  period: string;
  rates: Rates;
  accounts: AccountsFile;
  out?: string;
  outDisplay?: string;
  provider?: string;
}

interface Vm {
  name: string;
  size?: string;
  tier?: string;
  state: string;
  created: number | null;
  deleted: number | null;
  owner?: Owner;
  where: string;
  location: { file: string; line?: number };
  /** How a message names it where its location has no line ("VM 3: "), or ''. */
  label: string;
}

const DAY = 86_400_000;
/**
 * Hyper-V's VMState numbers, as ConvertTo-Json writes them (2012 R2 and later; 32768–32770 and
 * 32774 from the older WMI values). Numbers above 32780 mean different states in different
 * Hyper-V versions, so they are not guessed: see `billedWhenStopped`.
 */
const HYPERV_STATES: Record<number, string> = {
  2: 'running',
  3: 'off',
  4: 'stopping',
  6: 'saved',
  9: 'paused',
  10: 'starting',
  11: 'reset',
  32768: 'paused',
  32769: 'saved',
  32770: 'starting',
  32773: 'saving',
  32774: 'stopping',
  32776: 'pausing',
  32777: 'resuming',
  32779: 'fastsaved',
  32780: 'fastsaving',
};
/** Where the state is: ours (or libvirt's, from virsh list), Hyper-V's State, VMware PowerCLI's PowerState, Proxmox's status. */
const STATE_FIELDS = ['state', 'powerstate', 'status'];
/** States of a VM that holds its host's CPU and memory, and of one that does not (its disks only). */
const RUNNING = new Set([
  'running',
  'poweredon',
  'starting',
  'stopping',
  'saving',
  'pausing',
  'resuming',
  'reset',
  'fastsaving',
  'deallocating',
  'migrating',
  // libvirt (virsh list --all): blocked on a resource, idle, shutting down.
  'blocked',
  'idle',
  'inshutdown',
]);
const STOPPED = new Set([
  'off',
  'stopped',
  'saved',
  'shutoff',
  'poweredoff',
  'deallocated',
  'paused',
  'suspended',
  'fastsaved',
  'hibernated',
  // libvirt: suspended by the guest's power management, or crashed.
  'pmsuspended',
  'crashed',
]);

/**
 * A state as the sets above spell it: case, spaces, `-` and `_` dropped, Azure's `VM ` prefix
 * (`VM deallocated`) and Hyper-V's `Critical` suffix (`OffCritical`: off, its storage unreachable)
 * taken off.
 */
function stateWord(state: string): string {
  const word = state.toLowerCase().replace(/[\s_-]+/g, '');
  const bare = word.replace(/^vm(?=[a-z])/, '').replace(/critical$/, '');
  return RUNNING.has(bare) || STOPPED.has(bare) ? bare : word;
}

export async function convertVms(input: VmsInput): Promise<ConvertReport> {
  const [monthStart, monthEnd] = periodSpan(input.period);
  const vms: Vm[] = [];
  const problems = new RecordProblems();
  for (const file of input.files) vms.push(...(await readInventory(file, problems)));
  if (vms.length === 0) {
    problems.check();
    throw new UserError(`no VMs in ${input.files.map((f) => f.display).join(', ')}`, {
      hint: 'an inventory with a header row and one VM per row',
    });
  }
  const writer = await FocusWriter.open(input.period, input.rates.currency, input.provider ?? 'Research Computing', input.out);
  const notBilled: Record<string, number> = {};
  /** VM-months of VMs nobody owns, by name. */
  const unmapped = new Map<string, bigint>();
  let billed = 0;
  const seen = new Map<string, Vm[]>();
  try {
    for (const vm of vms) {
      try {
        // The name is the charge's ResourceId. One VM is billed once however many inventories list
        // it; a name used again after its VM was deleted is another VM, billed for its own days.
        const before = seen.get(vm.name) ?? [];
        if (before.some((v) => sameVm(v, vm))) {
          notBilled['listed twice (billed once)'] = (notBilled['listed twice (billed once)'] ?? 0) + 1;
          continue;
        }
        const clash = before.find((v) => overlap(v, vm));
        if (clash)
          throw new UserError(`VM ${vm.name} is listed again, differently, while the one at ${clash.where} existed`, {
            location: vm.location,
            hint: 'a name is one VM at a time, billed once: give one inventory per month, and tell VMs on different hosts apart by name (e.g. prefixed with the host)',
          });
        if (before.length === 0) seen.set(vm.name, before);
        before.push(vm);
        const from = Math.max(vm.created ?? monthStart, monthStart);
        const to = Math.min(vm.deleted ?? monthEnd, monthEnd);
        if (to <= from) {
          notBilled['not in the month'] = (notBilled['not in the month'] ?? 0) + 1;
          continue;
        }
        const owner = vm.owner ?? vmOwner(input.accounts, vm.name);
        // Whole days: from the day it appeared to the day it was removed (a part day counts).
        const firstDay = Math.floor(from / DAY) * DAY;
        const lastDay = Math.ceil(to / DAY) * DAY;
        const record = () => `${vm.label}VM ${vm.name} (size ${vm.size ?? vm.tier ?? '(none)'})`;
        const segments = priceSpan(input.rates, 'vms', {
          unit: 'vm-month',
          attrs: { size: vm.size, tier: vm.tier },
          start: firstDay,
          end: lastDay,
          record,
          at: vm.location,
        });
        let any = false;
        for (const s of segments) {
          if (s.rate.bill_stopped === false && !billedWhenStopped(vm, s.rate.id)) continue;
          const days = Math.round((s.end - s.start) / DAY);
          any = true;
          const vmMonths = quantity(BigInt(days), BigInt(periodDays(input.period)));
          if (!owner) unmapped.set(vm.name, (unmapped.get(vm.name) ?? 0n) + vmMonths);
          await writer.write({
            start: Math.max(s.start, monthStart),
            end: Math.min(s.end, monthEnd),
            rate: s.rate,
            quantity: vmMonths,
            resourceId: vm.name,
            resourceName: vm.name,
            description: `${days} day${days === 1 ? '' : 's'} of ${periodDays(input.period)}, ${vm.state}`,
            tags: { ...(owner ?? {}), ...(vm.size ? { vm_size: vm.size } : {}), ...(vm.tier ? { vm_tier: vm.tier } : {}) },
            at: vm.location,
          });
        }
        if (any) billed++;
        else notBilled[`stopped (${vm.state})`] = (notBilled[`stopped (${vm.state})`] ?? 0) + 1;
      } catch (e) {
        problems.keep(e); // and on to the next VM
      }
    }
    problems.check();
    await writer.close();
  } catch (e) {
    await writer.discard();
    throw e;
  }
  return {
    converter: 'vms',
    period: input.period,
    files: input.files.map((f) => f.display),
    out: input.outDisplay ?? input.out ?? null,
    records: vms.length,
    billed,
    charges: writer.rows,
    not_billed: notBilled,
    warnings: [],
    unmapped: [...unmapped].map(([name, q]) => ({ owner: name, quantity: quantityText(q), unit: 'vm-month', records: 1 })),
    rates: writer.totals.rows(),
    currency: input.rates.currency,
    ...writer.totals.sums(),
  };
}

/**
 * Whether a rate that bills running VMs only bills this one. A state that is neither running nor
 * stopped (a Hyper-V number whose meaning changed between versions, a word no hypervisor here
 * uses) is refused rather than guessed: it decides the charge.
 */
function billedWhenStopped(vm: Vm, rate: string): boolean {
  if (RUNNING.has(vm.state)) return true;
  if (STOPPED.has(vm.state)) return false;
  throw new UserError(
    `VM ${vm.name}: state ${JSON.stringify(vm.state)} is neither running nor stopped, and rate ${rate} bills running VMs only`,
    {
      location: vm.location,
      hint: `running states: ${[...RUNNING].join(', ')}; stopped: ${[...STOPPED].join(', ')} (Hyper-V: ConvertTo-Json -EnumsAsStrings, or select State as text)`,
    },
  );
}

/** Whether two listings of a name are the same VM as billed: size, tier, state, dates and owner. */
function sameVm(a: Vm, b: Vm): boolean {
  const billed = (v: Vm) => JSON.stringify([v.size, v.tier, v.state, v.created, v.deleted, v.owner]);
  return billed(a) === billed(b);
}

/** Whether two VMs' lives (created to deleted, unknown ends open) share a moment. */
function overlap(a: Vm, b: Vm): boolean {
  return (a.created ?? -Infinity) < (b.deleted ?? Infinity) && (b.created ?? -Infinity) < (a.deleted ?? Infinity);
}

async function readInventory(file: { path: string; display: string }, problems: RecordProblems): Promise<Vm[]> {
  const text = await readUtf8(file.path, file.display);
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) return readJson(trimmed, file.display, problems);
  return readCsv(file, problems);
}

type Row = Record<string, unknown>;

function readJson(text: string, display: string, problems: RecordProblems): Vm[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UserError(`not JSON: ${(e as Error).message}`, {
      location: { file: display },
      hint: 'ConvertTo-Json output, or a JSON list of VMs',
    });
  }
  const list = (Array.isArray(doc) ? doc : [doc]) as Row[];
  const out: Vm[] = [];
  for (const [i, item] of list.entries()) {
    try {
      out.push(toVm(lowerKeys(item), `${display} (VM ${i + 1})`, { file: display }, `VM ${i + 1}: `));
    } catch (e) {
      problems.keep(e); // and on to the next VM
    }
  }
  return out;
}

async function readCsv(file: { path: string; display: string }, problems: RecordProblems): Promise<Vm[]> {
  const out: Vm[] = [];
  let header: string[] | null = null;
  for await (const [line, n] of textLines(file.path, file.display)) {
    if (line.trim() === '') continue;
    const at = { file: file.display, line: n };
    if (header === null) {
      const inventory = (names: string[]) => {
        const has = (...wanted: string[]) => wanted.some((n) => names.includes(n));
        return has('name', 'vmname') && has('size', 'tier') && has(...STATE_FIELDS);
      };
      const separated = separatorError(line, at, inventory);
      if (separated) throw separated;
      header = csvRecord(line, at).map((f) => f.trim().toLowerCase());
      if (!inventory(header))
        throw new UserError(
          `expected the columns name, size (or tier), state, created, deleted, pi_email, project_id, fund_org; found ${JSON.stringify(line.slice(0, 100))}`,
          {
            location: at,
            hint: 'see docs/sources/local-vms.md for the inventory format and the commands that export it',
          },
        );
      continue;
    }
    try {
      const fields = csvRecord(line, at);
      if (fields.length !== header.length)
        throw new UserError(`malformed CSV: expected ${header.length} fields as in the header, found ${fields.length}`, {
          location: at,
          hint: 'values with commas must be quoted',
        });
      out.push(toVm(Object.fromEntries(header.map((h, i) => [h, fields[i]])), `${file.display}:${n}`, at, ''));
    } catch (e) {
      problems.keep(e); // and on to the next line
    }
  }
  return out;
}

function lowerKeys(item: Row): Row {
  return Object.fromEntries(Object.entries(item ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
}

/**
 * A VM of the inventory. `where` names it for messages without a location (prices); `label` is
 * what an error's message adds to its location (the VM's place in a JSON list, which has no lines).
 */
function toVm(row: Row, where: string, location: { file: string; line?: number }, label: string): Vm {
  const text = (k: string) => {
    const v = row[k];
    if (v === null || v === undefined) return '';
    if (typeof v === 'object')
      throw new UserError(`${label}${k}: expected text, a number or true/false, found ${Array.isArray(v) ? 'a list' : 'an object'}`, {
        location,
        hint: 'one value per field: select the property itself (e.g. Select-Object Name, State), not the object holding it',
      });
    return String(v).trim();
  };
  const name = text('name') || text('vmname');
  if (!name) throw new UserError(`${label}a VM without a name`, { location, hint: 'every VM needs its name' });
  const stateField = STATE_FIELDS.find((k) => row[k] !== undefined && row[k] !== null && row[k] !== '') ?? 'state';
  const stateValue = row[stateField];
  const state = stateWord(typeof stateValue === 'number' ? (HYPERV_STATES[stateValue] ?? String(stateValue)) : text(stateField));
  if (!state) throw new UserError(`${label}VM ${name} has no state`, { location, hint: 'running, stopped, off…' });
  const created = instant(row.created ?? row.creationtime ?? row.createdate, label, location, 'created');
  // A deletion date without a time: the VM existed that day, so it ends at the day's end.
  const deletedAt = instant(row.deleted, label, location, 'deleted');
  const deletedText = typeof row.deleted === 'string' ? row.deleted.trim() : ''; // a DateTime object carries a time
  const deleted = deletedAt !== null && /^\d{4}-\d{2}-\d{2}$/.test(deletedText) ? deletedAt + DAY : deletedAt;
  if (created !== null && deleted !== null && deleted < created)
    throw new UserError(`${label}VM ${name} was deleted (${deletedText || new Date(deleted).toISOString()}) before it was created`, {
      location,
      hint: 'check the inventory’s created and deleted dates',
    });
  const owner = ownerOf(text);
  return { name, size: text('size') || undefined, tier: text('tier') || undefined, state, created, deleted, owner, where, location, label };
}

/** The owner from columns, or from Notes written as pi_email=…;project_id=…;fund_org=… */
function ownerOf(text: (field: string) => string): Owner | undefined {
  const fromNotes: Record<string, string> = Object.fromEntries(
    text('notes')
      .split(/[;\n]/)
      .map((kv) => kv.split('=').map((s) => s.trim()))
      .filter((kv) => kv.length === 2),
  );
  const get = (k: string) => text(k) || fromNotes[k] || undefined;
  const [pi_email, project_id, fund_org] = [get('pi_email'), get('project_id'), get('fund_org')];
  if (!pi_email && !project_id && !fund_org) return undefined;
  return {
    pi_email: pi_email ?? '',
    project_id: project_id ?? '',
    fund_org: fund_org ?? '',
    ...(get('cost_center') ? { cost_center: get('cost_center') as string } : {}),
  };
}

/** A time: ISO 8601 (a date, or a date and time), or .NET's /Date(ms)/ as Windows PowerShell writes it; empty is none. */
function instant(value: unknown, label: string, location: { file: string; line?: number }, field: string): number | null {
  if (value === null || value === undefined || value === '') return null;
  // Windows PowerShell writes a DateTime that carries extra properties as { value: "/Date(ms)/", DateTime: "…" }.
  if (typeof value === 'object' && !Array.isArray(value) && 'value' in value) return instant(value.value, label, location, field);
  const text = String(value).trim();
  const dotnet = /^\/Date\((-?\d+)\)\/$/.exec(text);
  if (dotnet) return Number(dotnet[1]);
  const wall = wallTime(text.replace(/Z$/, ''));
  // Date.parse reads the 30th of February as March 2: the day is checked on the calendar first;
  // and an offset of +23:59 as one: zones run from −12:00 to +14:00.
  const iso =
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-](0\d|1[0-4]):[0-5]\d)$/.test(text) && calendarDay(text.slice(0, 10)) !== null
      ? Date.parse(text)
      : null;
  const t = iso ?? wall;
  if (t === null || Number.isNaN(t))
    throw new UserError(`${label}${field}: expected a date such as 2025-03-14 or 2025-03-14T09:30:00Z, found ${JSON.stringify(text)}`, {
      location,
      hint: 'a day the calendar has, in ISO 8601 (or /Date(ms)/, as Windows PowerShell writes it); leave it empty when not known',
    });
  return t;
}
