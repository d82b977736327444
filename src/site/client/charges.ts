/**
 * The charge browser: filters, search and sorting over a period's charges in the browser.
 * Data is columnar with dictionaries (small to send); only one page of rows is in the DOM, so
 * 100,000 charges stay responsive. Totals are summed exactly in minor units (BigInt), one per
 * currency: currencies are never added together.
 */
export interface ChargeTable {
  currencies: { code: string; digits: number }[];
  dict: { source: string[]; pi: string[]; project: string[]; service: string[] };
  /** [source, pi, project, service, currency, date, resource, amount in minor units as a string, charges summed in the row] */
  rows: [number, number, number, number, number, string, string, string, number][];
}

type Key = 'date' | 'pi' | 'project' | 'source' | 'service' | 'resource' | 'amount';
const PAGE = 100;

export function initChargeBrowser(): void {
  const form = document.getElementById('charge-filters') as HTMLFormElement | null;
  if (!form?.dataset.src) return;
  const status = document.getElementById('charge-status') as HTMLElement;
  fetch(form.dataset.src)
    .then((r) => {
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      return r.json() as Promise<ChargeTable>;
    })
    .then((data) => setUp(form, status, data))
    .catch((e: Error) => {
      status.textContent = `Could not load the charges (${e.message}).`;
    });
}

function setUp(form: HTMLFormElement, status: HTMLElement, data: ChargeTable): void {
  const tbody = document.querySelector('#charge-table tbody') as HTMLElement;
  const total = document.getElementById('charge-total') as HTMLElement;
  const info = document.getElementById('page-info') as HTMLElement;
  const prev = document.getElementById('page-prev') as HTMLButtonElement;
  const next = document.getElementById('page-next') as HTMLButtonElement;
  const formats = data.currencies.map(
    (c) =>
      new Intl.NumberFormat('en-US', {
        style: 'currency',
        currency: c.code,
        minimumFractionDigits: c.digits,
        maximumFractionDigits: c.digits,
      }),
  );
  const money = (minor: bigint, currency: number) => {
    const digits = data.currencies[currency]?.digits ?? 2;
    const neg = minor < 0n;
    const abs = (neg ? -minor : minor).toString().padStart(digits + 1, '0');
    const text = digits ? `${abs.slice(0, -digits)}.${abs.slice(-digits)}` : abs;
    return (formats[currency] as Intl.NumberFormat).format(`${neg ? '-' : ''}${text}` as unknown as number);
  };
  const amounts = data.rows.map((r) => BigInt(r[7]));
  for (const [name, list] of Object.entries(data.dict) as [keyof ChargeTable['dict'], string[]][]) {
    const select = form.elements.namedItem(name) as HTMLSelectElement | null;
    if (!select) continue;
    const order = list.map((v, i) => [v, i] as const).sort((a, b) => a[0].localeCompare(b[0]));
    for (const [v, i] of order) select.add(new Option(v, String(i)));
  }
  let sortKey: Key = 'date';
  let sortDir = 1;
  let page = 0;
  let view: number[] = [];
  const text = (i: number, key: Key): string => {
    const r = data.rows[i] as ChargeTable['rows'][number];
    switch (key) {
      case 'source':
        return data.dict.source[r[0]] ?? '';
      case 'pi':
        return data.dict.pi[r[1]] ?? '';
      case 'project':
        return data.dict.project[r[2]] ?? '';
      case 'service':
        return data.dict.service[r[3]] ?? '';
      case 'date':
        return r[5];
      case 'resource':
        return r[6];
      default:
        return '';
    }
  };
  const apply = () => {
    const f = new FormData(form);
    const q = String(f.get('q') ?? '')
      .trim()
      .toLowerCase();
    const want = (name: string) => (f.get(name) ? Number(f.get(name)) : -1);
    const [source, pi, project, service] = [want('source'), want('pi'), want('project'), want('service')];
    view = [];
    for (let i = 0; i < data.rows.length; i++) {
      const r = data.rows[i] as ChargeTable['rows'][number];
      if (
        (source >= 0 && r[0] !== source) ||
        (pi >= 0 && r[1] !== pi) ||
        (project >= 0 && r[2] !== project) ||
        (service >= 0 && r[3] !== service)
      )
        continue;
      if (q && !`${r[6]} ${data.dict.service[r[3]]} ${data.dict.pi[r[1]]} ${data.dict.project[r[2]]}`.toLowerCase().includes(q)) continue;
      view.push(i);
    }
    const currency = (i: number) => (data.rows[i] as ChargeTable['rows'][number])[4];
    const cmp =
      sortKey === 'amount'
        ? (a: number, b: number) =>
            currency(a) - currency(b) ||
            ((amounts[a] as bigint) < (amounts[b] as bigint) ? -1 : (amounts[a] as bigint) > (amounts[b] as bigint) ? 1 : 0)
        : (a: number, b: number) => text(a, sortKey).localeCompare(text(b, sortKey));
    view.sort((a, b) => sortDir * cmp(a, b) || a - b);
    const sums = data.currencies.map(() => 0n);
    for (const i of view) sums[currency(i)] = (sums[currency(i)] as bigint) + (amounts[i] as bigint);
    const shown = sums.map((sum, c) => ({ sum, c })).filter(({ c }) => view.some((i) => currency(i) === c));
    total.textContent = shown.length ? shown.map(({ sum, c }) => money(sum, c)).join(' · ') : data.currencies.length ? money(0n, 0) : '';
    page = 0;
    render();
  };
  const render = () => {
    const pages = Math.max(1, Math.ceil(view.length / PAGE));
    const rows = view.slice(page * PAGE, page * PAGE + PAGE);
    const frag = document.createDocumentFragment();
    for (const i of rows) {
      const tr = document.createElement('tr');
      for (const key of ['date', 'pi', 'project', 'source', 'service', 'resource'] as Key[]) {
        const td = document.createElement('td');
        td.textContent = text(i, key); // text, never HTML: values come from CSV files
        tr.append(td);
      }
      const td = document.createElement('td');
      td.className = 'num';
      td.textContent = money(amounts[i] as bigint, (data.rows[i] as ChargeTable['rows'][number])[4]);
      tr.append(td);
      frag.append(tr);
    }
    tbody.replaceChildren(frag);
    // A row is a resource's charges on a day: the charges are counted too, as the period's reconciliation counts them.
    const charges = view.reduce((n, i) => n + (data.rows[i] as ChargeTable['rows'][number])[8], 0);
    status.textContent = `${view.length.toLocaleString('en-US')} of ${data.rows.length.toLocaleString('en-US')} rows (${charges.toLocaleString('en-US')} charge${charges === 1 ? '' : 's'})`;
    info.textContent = `Page ${page + 1} of ${pages}`;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  form.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(apply, 120);
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  prev.addEventListener('click', () => {
    page--;
    render();
  });
  next.addEventListener('click', () => {
    page++;
    render();
  });
  for (const button of document.querySelectorAll<HTMLButtonElement>('#charge-table button.sort')) {
    button.addEventListener('click', () => {
      const key = button.dataset.key as Key;
      sortDir = key === sortKey ? -sortDir : 1;
      sortKey = key;
      for (const th of document.querySelectorAll('#charge-table th')) th.setAttribute('aria-sort', 'none');
      button.parentElement?.setAttribute('aria-sort', sortDir === 1 ? 'ascending' : 'descending');
      apply();
    });
  }
  apply();
}
