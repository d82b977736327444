// The billing office's app in the browser: plain modules, no build step. Every value from the
// repository is put into the page as text (el()), never as HTML.

const page = document.body.dataset.page;
const view = document.getElementById('view');

/** An element with attributes (on* are listeners) and children (strings are text). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : String(c));
  return node;
}

/** Puts `children` in `node` in place of what it held, leaving out those `el` leaves out (replaceChildren would show null as "null"). */
function put(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
}

/**
 * A table's header row. Each column is its label, or `{ label, num, hidden }`: `num` right-aligns
 * a number column; `hidden` labels it for screen readers only (a column of checkboxes or links).
 */
function head(...columns) {
  const th = (c) => {
    const { label, num, hidden } = typeof c === 'string' ? { label: c } : c;
    return el('th', { scope: 'col', class: num ? 'num' : undefined }, hidden ? el('span', { class: 'visually-hidden' }, label) : label);
  };
  return el('thead', {}, el('tr', {}, columns.flat().map(th)));
}

/** The API's answer as JSON; an error answer throws an Error carrying its { message, location, hint }. */
async function api(path, options = {}) {
  const init = { ...options, headers: { ...(options.headers ?? {}) } };
  if (options.json !== undefined) {
    init.method = init.method ?? 'POST';
    init.body = JSON.stringify(options.json);
    init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(path, init);
  const body = await res.json().catch(() => ({ error: { message: `${res.status} ${res.statusText}` } }));
  if (!res.ok) {
    const e = new Error(body.error?.message ?? `${res.status}`);
    e.detail = body.error ?? {};
    e.status = res.status;
    throw e;
  }
  return body;
}

/** `file:line:column` of an error's location, or null. */
const placeOf = (loc) => (loc ? [loc.file, loc.line, loc.column].filter((x) => x !== undefined && x !== null).join(':') : null);

/** A located error as the CLI shows it: message, where, hint, then the problems found beside it. */
function errorBox(e) {
  const where = placeOf(e.detail?.location);
  const more = e.detail?.more;
  const unshown = more ? more.count - more.shown.length : 0;
  return el(
    'div',
    { class: 'error', role: 'alert' },
    el('p', {}, el('strong', {}, 'Error: '), e.message),
    where ? el('p', {}, 'At ', el('code', {}, where)) : null,
    e.detail?.hint ? el('p', { class: 'hint' }, 'Hint: ', e.detail.hint) : null,
    more
      ? el(
          'div',
          { class: 'more' },
          el(
            'p',
            {},
            `And ${more.count.toLocaleString('en-US')} more problem${more.count === 1 ? '' : 's'}${more.stopped_at ? `, then reading stopped at ${more.stopped_at.toLocaleString('en-US')} problems` : ''}:`,
          ),
          el(
            'ul',
            {},
            more.shown.map((m) => {
              const at = placeOf(m.location);
              return el('li', {}, at ? el('code', {}, at) : null, at ? ': ' : null, m.message);
            }),
            unshown > 0 ? el('li', {}, `… ${unshown.toLocaleString('en-US')} more not shown`) : null,
          ),
        )
      : null,
  );
}

const money = (value, currency) => {
  const n = Number(value);
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(n);
  } catch {
    return `${value} ${currency}`;
  }
};

let state = null;

/** The repository's state, and the gate: what still blocks merging, always at the top. */
async function refreshGate() {
  const gate = document.getElementById('gate');
  try {
    state = await api('/api/state');
  } catch (e) {
    put(gate, errorBox(e));
    return state;
  }
  const pending = state.periods.reduce((n, p) => n + p.pending, 0);
  const line = (verdict) =>
    el(
      'p',
      {},
      el('strong', {}, verdict),
      ` · branch ${state.branch ?? '(none)'} · reviewer ${state.reviewer} · ${pending} pending flag${pending === 1 ? '' : 's'}`,
      state.site.building ? ' · the site is being rebuilt' : '',
      state.site.error ? ` · the site did not build: ${state.site.error}` : '',
    );
  if (!gate.dataset.checked) put(gate, line('Checking what blocks merging…'));
  // validate --require-reviewed reads every file: the page does not wait for it.
  api('/api/gate')
    .then((g) => {
      gate.dataset.checked = 'true';
      gate.className = `gate ${g.blocking.length ? 'blocked' : 'clear'}`;
      put(
        gate,
        line(
          g.blocking.length ? `${g.blocking.length} thing${g.blocking.length === 1 ? '' : 's'} block merging` : 'Nothing blocks merging',
        ),
        findingList(g.blocking),
        // What validate warns of (a credit for a PI no statement names, say) is read here or nowhere.
        g.warnings.length
          ? el(
              'details',
              { class: 'warnings' },
              el('summary', {}, `${g.warnings.length} warning${g.warnings.length === 1 ? '' : 's'}`),
              findingList(g.warnings),
            )
          : null,
      );
    })
    .catch((e) => put(gate, errorBox(e)));
  return state;
}

/** validate's findings, the first five in full and a count of the rest. */
function findingList(findings) {
  if (findings.length === 0) return null;
  return el(
    'ul',
    {},
    findings.slice(0, 5).map((f) => el('li', {}, f.file ? `${f.file}: ` : '', f.message)),
    findings.length > 5 ? el('li', {}, `and ${findings.length - 5} more (focus-billing validate --require-reviewed)`) : null,
  );
}

function periodSelect(id, periods, selected, includeAll) {
  return el(
    'select',
    { id },
    includeAll ? el('option', { value: '' }, 'All periods') : null,
    periods.map((p) =>
      el('option', { value: p.period, selected: p.period === selected }, `${p.period}${p.status === 'closed' ? ' (closed)' : ''}`),
    ),
  );
}

// ── Overview ────────────────────────────────────────────────────────────────────────────────
async function home() {
  const s = state ?? (await refreshGate());
  if (!s) return;
  put(
    view,
    el('h2', {}, 'Periods'),
    el('div', { id: 'home-message' }),
    s.periods.length === 0
      ? el('p', {}, 'No data yet. ', el('a', { href: '/app/import' }, 'Import a month'), ' to begin.')
      : el(
          'table',
          {},
          head('Period', 'Status', { label: 'Pending flags', num: true }, 'Exports', 'Pages'),
          el(
            'tbody',
            {},
            s.periods.map((p) =>
              el(
                'tr',
                {},
                el('th', { scope: 'row' }, p.period),
                el('td', {}, p.status),
                el('td', { class: 'num' }, String(p.pending)),
                el(
                  'td',
                  {},
                  el(
                    'ul',
                    { class: 'exports' },
                    p.exports.map((x) =>
                      el(
                        'li',
                        {},
                        el(
                          'span',
                          { title: x.files.join(', ') || `${x.leftover} of an export no longer stored` },
                          x.files.length ? x.source : `${x.source} (${x.leftover})`,
                        ),
                        p.status === 'open'
                          ? el(
                              'button',
                              {
                                type: 'button',
                                class: 'small',
                                'aria-label': x.files.length
                                  ? `Remove the ${x.source} export of ${p.period}`
                                  : `Remove the ${leftOf(x)} of ${x.source} in ${p.period}`,
                                onclick: (e) => removeExport(p.period, x, e.currentTarget),
                              },
                              'remove',
                            )
                          : null,
                      ),
                    ),
                  ),
                ),
                el(
                  'td',
                  {},
                  el('a', { href: `/app/review?period=${p.period}` }, 'review'),
                  ' · ',
                  el('a', { href: `/app/charges?period=${p.period}` }, 'charges'),
                  ' · ',
                  el('a', { href: `/site/periods/${p.period}/` }, 'statements'),
                ),
              ),
            ),
          ),
        ),
    el('h2', {}, 'The site'),
    el(
      'p',
      {},
      'The dashboard, periods, PIs and statements as the working tree is now: ',
      el('a', { href: '/site/' }, 'open the site'),
      '. It is rebuilt after every change made here.',
    ),
  );
}

/** What is left of a source whose export is no longer stored: "flags", "record", or "flags and record". */
const leftOf = (x) => x.leftover.replace(/ only$/, '');

/**
 * Takes an export imported under the wrong source or month out of its period, with its flags, and
 * commits that. A file git holds no copy of is removed only when asked again.
 */
async function removeExport(period, x, button) {
  const files = x.files.map((f) => `data/${period}/${f}`).join(', ');
  const question = files
    ? `Remove the ${x.source} export of ${period} (${files}) and the charges it held for review, decisions included?`
    : `Remove the ${leftOf(x)} of ${x.source} in ${period}? Its export is no longer stored.`;
  if (!confirm(question)) return;
  const box = document.getElementById('home-message');
  button.disabled = true;
  const run = (force, commit) => api('/api/exports/remove', { json: { period, source: x.source, force, commit } });
  // A refusal the coordinator can answer (a file git holds no copy of; other changes a commit would carry) is asked about.
  const attempt = async (force, commit) => {
    try {
      return await run(force, commit);
    } catch (e) {
      if (!force && /git keeps no copy/.test(e.message)) {
        if (confirm(`${e.message}.\n\nRemove it anyway? Only if you still have the export file.`)) return attempt(true, commit);
      } else if (commit && /a commit of the removal would carry/.test(e.message)) {
        if (confirm(`${e.message}.\n\nRemove it without committing? It stays in the working tree, to commit with those changes.`))
          return attempt(force, false);
      }
      throw e;
    }
  };
  try {
    const r = await attempt(false, true);
    state = null;
    await home();
    put(
      document.getElementById('home-message'),
      el(
        'p',
        { role: 'status' },
        `Removed ${r.files.length > 0 ? `${r.files.join(', ')} and ` : ''}${r.flags.removed} flag${r.flags.removed === 1 ? '' : 's'}`,
        r.committed ? ` (committed on ${r.committed.branch})` : '',
        '.',
      ),
    );
  } catch (e) {
    button.disabled = false;
    put(box, errorBox(e));
  }
}

// ── Import ──────────────────────────────────────────────────────────────────────────────────
async function importPage() {
  const s = state ?? (await refreshGate());
  if (!s) return;
  const input = el('input', { type: 'file', id: 'pick', multiple: true, class: 'visually-hidden' });
  const zone = el(
    'div',
    { class: 'drop', id: 'drop', role: 'region', 'aria-label': 'Drop files to import', 'aria-describedby': 'drop-help' },
    el('p', {}, el('strong', {}, 'Drop files here'), ' or ', el('label', { for: 'pick', class: 'link' }, 'choose them')),
    el(
      'p',
      { id: 'drop-help', class: 'hint' },
      'FOCUS exports (CSV, .csv.gz, Parquet), or the raw exports the converters read: sacct, Isilon and Qumulo quota reports, storage samples, VM inventories, usage tables.',
    ),
    input,
  );
  const list = el('div', { id: 'uploads' });
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    upload([...(e.dataTransfer?.files ?? [])], list);
  });
  input.addEventListener('change', () => upload([...input.files], list));
  put(view, zone, list);
}

function upload(files, list) {
  if (files.length === 0) return;
  const box = el('section', { class: 'card', 'aria-label': 'Upload' });
  const bar = el('progress', { max: '100', value: '0', 'aria-label': 'Upload progress' });
  const status = el('p', { role: 'status' }, `Uploading ${files.map((f) => f.name).join(', ')}…`);
  box.append(status, bar);
  list.prepend(box);
  const form = new FormData();
  for (const f of files) form.append('file', f, f.name);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/api/import/upload');
  xhr.upload.addEventListener('progress', (e) => {
    if (e.lengthComputable) bar.value = Math.round((e.loaded / e.total) * 100);
  });
  xhr.addEventListener('load', () => {
    let body = {};
    try {
      body = JSON.parse(xhr.responseText);
    } catch {}
    if (xhr.status !== 200) {
      const e = new Error(body.error?.message ?? `${xhr.status}`);
      e.detail = body.error ?? {};
      put(box, errorBox(e));
      return;
    }
    box.remove();
    for (const f of body.files) list.prepend(fileCard(body.upload, f));
  });
  xhr.addEventListener('error', () => put(box, errorBox(new Error('the upload failed (connection lost)'))));
  xhr.send(form);
}

let cardCount = 0;

/** The id of the page's one list of time zone names, made when first asked for. */
function zoneList() {
  const id = 'time-zones';
  if (!document.getElementById(id)) {
    const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
    document.body.append(
      el(
        'datalist',
        { id },
        ['UTC', ...zones.filter((z) => z !== 'UTC')].map((z) => el('option', { value: z })),
      ),
    );
  }
  return id;
}

function fileCard(uploadId, file) {
  const n = ++cardCount;
  const kinds = el(
    'select',
    { id: `kind-${n}` },
    state.kinds.map((k) => el('option', { value: k.kind, selected: k.kind === file.kind }, k.label)),
  );
  const source = el(
    'select',
    { id: `source-${n}` },
    el('option', { value: '' }, 'Choose…'),
    state.sources.map((name) => el('option', { value: name, selected: name === file.source }, name)),
  );
  const period = el('input', {
    id: `period-${n}`,
    inputmode: 'numeric',
    pattern: '\\d{4}-\\d{2}',
    placeholder: file.kind === 'focus' ? 'from the file' : 'YYYY-MM',
    value: file.kind === 'focus' ? '' : (file.period ?? ''),
    size: '9',
  });
  // A storage report's paths under one another: counted in the path that holds them (quotas, du), or apart (GPFS filesets).
  const nested = el(
    'select',
    { id: `nested-${n}` },
    el('option', { value: 'subtract' }, 'Use of a path includes the paths under it (quotas, du)'),
    el('option', { value: 'separate' }, 'Each path counts only its own bytes (GPFS filesets)'),
  );
  // The label and its choice wrap onto a line together.
  const nestedField = el('span', { class: 'field' }, el('label', { for: `nested-${n}` }, 'Nested paths'), ' ', nested);
  // sacct prints its clocks' times without a zone: the zone they are in (convert slurm --timezone).
  const timezone = el('input', {
    id: `timezone-${n}`,
    value: 'UTC',
    list: zoneList(),
    size: '18',
    autocomplete: 'off',
    spellcheck: 'false',
  });
  const timezoneField = el('span', { class: 'field' }, el('label', { for: `timezone-${n}` }, 'Time zone of its times'), ' ', timezone);
  const showChoices = () => {
    nestedField.hidden = !kinds.value.startsWith('storage');
    timezoneField.hidden = kinds.value !== 'slurm';
  };
  kinds.addEventListener('change', showChoices);
  showChoices();
  const replace = el('input', { type: 'checkbox', id: `replace-${n}` });
  const commit = el('input', { type: 'checkbox', id: `commit-${n}`, checked: true });
  const out = el('div', { class: 'result' });
  const progress = el('p', { role: 'status', class: 'hint' });
  const importButton = el('button', { type: 'button', disabled: true }, 'Import');
  const request = () => ({
    upload: uploadId,
    file: file.name,
    kind: kinds.value,
    source: source.value,
    period: period.value.trim() || undefined,
    nested: kinds.value.startsWith('storage') ? nested.value : undefined,
    timezone: kinds.value === 'slurm' ? timezone.value.trim() : undefined,
    replace: replace.checked,
    commit: commit.checked,
  });
  const watch = () => {
    const timer = setInterval(async () => {
      const p = await api(`/api/import/progress?upload=${encodeURIComponent(uploadId)}`).catch(() => null);
      progress.textContent = p?.progress ?? '';
    }, 700);
    return () => {
      clearInterval(timer);
      progress.textContent = '';
    };
  };
  const previewButton = el(
    'button',
    {
      type: 'button',
      onclick: async () => {
        importButton.disabled = true;
        previewButton.disabled = true;
        put(out, el('p', {}, 'Checking…'));
        const stop = watch();
        try {
          const r = await api('/api/import/preview', { json: request() });
          put(out, preview(r));
          importButton.disabled = false;
        } catch (e) {
          put(out, errorBox(e), el('p', { class: 'hint' }, 'Nothing was written.'));
        } finally {
          stop();
          previewButton.disabled = false;
        }
      },
    },
    'Preview',
  );
  importButton.addEventListener('click', async () => {
    importButton.disabled = true;
    previewButton.disabled = true;
    put(out, el('p', {}, 'Importing…'));
    const stop = watch();
    try {
      const r = await api('/api/import/run', { json: request() });
      put(out, imported(r));
      await refreshGate();
    } catch (e) {
      put(out, errorBox(e));
      previewButton.disabled = false;
    } finally {
      stop();
    }
  });
  return el(
    'section',
    { class: 'card file', 'aria-labelledby': `file-${n}` },
    el('h2', { id: `file-${n}` }, file.name, el('span', { class: 'hint' }, ` ${(file.bytes / 1024).toFixed(1)} KB`)),
    el(
      'div',
      { class: 'fields' },
      el('label', { for: `kind-${n}` }, 'What it is'),
      kinds,
      el('label', { for: `source-${n}` }, 'Source'),
      source,
      el('label', { for: `period-${n}` }, 'Period'),
      period,
      nestedField,
      timezoneField,
    ),
    el(
      'p',
      { class: 'checks' },
      el('label', {}, replace, ' Replace the export already stored for this period and source'),
      el('label', {}, commit, ' Commit it on a branch (ingest/<period>-<source>)'),
    ),
    el('p', { class: 'actions' }, previewButton, ' ', importButton),
    progress,
    out,
  );
}

function totalsTable(totals) {
  return el(
    'table',
    {},
    el('caption', {}, 'Totals per currency'),
    head(
      'Currency',
      ['Rows', 'Billed', 'List', 'Flagged'].map((label) => ({ label, num: true })),
    ),
    el(
      'tbody',
      {},
      totals.map((t) =>
        el(
          'tr',
          {},
          el('th', { scope: 'row' }, t.currency),
          el('td', { class: 'num' }, t.rows.toLocaleString('en-US')),
          el('td', { class: 'num' }, money(t.billed, t.currency)),
          el('td', { class: 'num' }, money(t.list, t.currency)),
          el('td', { class: 'num' }, `${t.flagged_rows} (${money(t.flagged_amount, t.currency)})`),
        ),
      ),
    ),
  );
}

function preview(r) {
  const rep = r.report;
  const rules = Object.entries(rep.flags.by_rule);
  // The converter's (a usage line repeated exactly), then ingest's.
  const warnings = [...(r.converted?.warnings ?? []), ...rep.warnings];
  return el(
    'div',
    { class: 'preview' },
    el('h3', {}, 'Preview: nothing is written yet'),
    r.converted
      ? el('p', {}, `Converted ${r.converted.records} records to ${r.converted.charges} charges (${r.converted.billed} billed).`)
      : null,
    el(
      'dl',
      {},
      el('dt', {}, 'Rows'),
      el('dd', {}, rep.rows.toLocaleString('en-US')),
      el('dt', {}, 'Period'),
      el('dd', {}, rep.period),
      el('dt', {}, 'Stored as'),
      el('dd', {}, el('code', {}, rep.stored_as)),
    ),
    totalsTable(rep.totals),
    el('p', {}, rules.length ? `Flags for review: ${rules.map(([k, n]) => `${k} ${n}`).join(', ')}` : 'No charge is flagged.'),
    warnings.length
      ? el(
          'ul',
          { class: 'warnings' },
          warnings.map((w) => el('li', {}, w)),
        )
      : null,
  );
}

function imported(r) {
  const rep = r.report;
  return el(
    'div',
    { class: 'done', role: 'status' },
    el(
      'h3',
      {},
      rep.outcome === 'unchanged'
        ? 'Already imported: nothing to do'
        : rep.outcome === 'reflagged'
          ? `Already imported: the flags of ${rep.source} for ${rep.period} written again`
          : `${rep.outcome === 'replaced' ? 'Replaced' : 'Imported'} ${rep.file} as ${rep.source} for ${rep.period}`,
    ),
    el(
      'p',
      {},
      `${rep.rows.toLocaleString('en-US')} rows → `,
      el('code', {}, rep.stored_as),
      `; ${rep.flags.total} flag${rep.flags.total === 1 ? '' : 's'} to review.`,
    ),
    rep.flags.total ? el('p', {}, el('a', { href: `/app/review?period=${rep.period}` }, `Review ${rep.period}`)) : null,
    rep.committed
      ? el(
          'div',
          {},
          el('p', {}, `Committed ${rep.committed.commit} on branch `, el('code', {}, rep.committed.branch), '. Then, in a terminal:'),
          el('pre', {}, `${r.push}\n${r.pull_request}`),
        )
      : null,
  );
}

// ── Review ──────────────────────────────────────────────────────────────────────────────────
const ROWS_SHOWN = 200;

async function reviewPage() {
  const s = state ?? (await refreshGate());
  if (!s) return;
  const params = new URLSearchParams(location.search);
  const [{ flags }, suggestions] = await Promise.all([api('/api/flags'), api('/api/suggestions')]);
  const order = (a, b) =>
    a.period < b.period
      ? -1
      : a.period > b.period
        ? 1
        : a.rule < b.rule
          ? -1
          : a.rule > b.rule
            ? 1
            : a.source < b.source
              ? -1
              : a.source > b.source
                ? 1
                : 0;
  flags.sort(order); // once: filtering keeps the order
  const attributions = new Map();
  for (const f of flags) {
    const a = f.assign ?? f.charge;
    if (a.pi_email && a.project_id && a.fund_org) attributions.set(`${a.pi_email}|${a.project_id}|${a.fund_org}`, a);
  }
  const rules = [...new Set(flags.flatMap((f) => [f.rule, ...(f.also ?? [])]))].sort();
  const sources = [...new Set(flags.map((f) => f.source))].sort();
  const filters = {
    period: periodSelect('f-period', s.periods, params.get('period') ?? '', true),
    status: el(
      'select',
      { id: 'f-status' },
      ['pending', 'approved', 'rejected', ''].map((v) =>
        el('option', { value: v, selected: v === (params.get('status') ?? 'pending') }, v || 'Any status'),
      ),
    ),
    rule: el(
      'select',
      { id: 'f-rule' },
      el('option', { value: '' }, 'Any rule'),
      rules.map((r) => el('option', { value: r }, r)),
    ),
    source: el(
      'select',
      { id: 'f-source' },
      el('option', { value: '' }, 'Any source'),
      sources.map((r) => el('option', { value: r }, r)),
    ),
    q: el('input', { id: 'f-q', type: 'search', placeholder: 'PI, project, service, resource, id…' }),
  };
  const selected = new Set();
  let matching = [];
  const count = el('p', { id: 'count', role: 'status' });
  const selectAll = el('input', { type: 'checkbox', id: 'select-all' });
  const tableBody = el('div', { id: 'flags' });
  const text = (f) =>
    [
      f.id,
      f.rule,
      ...(f.also ?? []),
      f.source,
      f.message,
      f.charge.pi_email,
      f.charge.project_id,
      f.charge.fund_org,
      f.charge.service,
      f.charge.resource,
      f.note,
      f.assign?.pi_email,
    ]
      .filter(Boolean)
      .join(' ')
      .toLowerCase();
  const haystack = new Map(flags.map((f) => [f, text(f)]));
  const closed = new Set(s.periods.filter((p) => p.status === 'closed').map((p) => p.period));

  function apply() {
    const q = filters.q.value.trim().toLowerCase();
    matching = flags.filter(
      (f) =>
        (!filters.period.value || f.period === filters.period.value) &&
        (!filters.status.value || f.status === filters.status.value) &&
        (!filters.rule.value || f.rule === filters.rule.value || (f.also ?? []).includes(filters.rule.value)) &&
        (!filters.source.value || f.source === filters.source.value) &&
        (!q || haystack.get(f).includes(q)),
    );
    render();
  }

  function render() {
    const shown = matching.slice(0, ROWS_SHOWN);
    const sizes = new Map();
    for (const f of matching) {
      const g = `${f.period} › ${f.rule} › ${f.source}`;
      sizes.set(g, (sizes.get(g) ?? 0) + 1);
    }
    const table = el(
      'table',
      { class: 'flags' },
      el('caption', { class: 'visually-hidden' }, 'Flags, grouped by period, rule and source'),
      head({ label: 'Select', hidden: true }, 'Flag', 'Charge', 'PI / project / fund-org', { label: 'Amount', num: true }, 'Status'),
    );
    let group = '';
    let body = null;
    for (const f of shown) {
      const g = `${f.period} › ${f.rule} › ${f.source}`;
      if (g !== group) {
        group = g;
        body = el('tbody', {}, el('tr', { class: 'group' }, el('th', { colspan: '6', scope: 'colgroup' }, `${g} (${sizes.get(g)})`)));
        table.append(body);
      }
      const box = el('input', {
        type: 'checkbox',
        'aria-label': `Select flag ${f.id}`,
        checked: selected.has(f.id),
        disabled: closed.has(f.period),
        dataset: { id: f.id },
      });
      const a = f.assign ?? f.charge;
      body.append(
        el(
          'tr',
          { dataset: { id: f.id } },
          el('td', {}, box),
          el('td', {}, el('code', {}, f.id), el('br'), el('span', { class: 'hint' }, f.message)),
          el(
            'td',
            {},
            f.charge.service ?? '',
            el('br'),
            el('span', { class: 'hint' }, f.charge.resource ?? '', ' · ', el('span', { class: 'nowrap' }, `${f.file}:${f.line}`)),
          ),
          el(
            'td',
            {},
            [a.pi_email, a.project_id, a.fund_org].map((x) => x ?? '—').join(' / '),
            f.assign ? el('span', { class: 'hint' }, ' (assigned)') : null,
          ),
          el('td', { class: 'num' }, money(f.charge.amount, f.charge.currency)),
          el('td', {}, f.status, f.note ? el('span', { class: 'hint' }, `: ${f.note}`) : null),
        ),
      );
    }
    put(tableBody, matching.length ? table : el('p', { class: 'empty' }, emptyReason()));
    const more =
      matching.length > shown.length ? ` (showing the first ${shown.length}: narrow the filter, or select all ${matching.length})` : '';
    count.textContent = `${matching.length} flag${matching.length === 1 ? '' : 's'} match${more}; ${selected.size} selected.`;
    selectAll.checked = matching.length > 0 && matching.every((f) => selected.has(f.id) || closed.has(f.period));
  }

  // Why no flag is listed, and where to look instead.
  function emptyReason() {
    if (flags.length === 0) return 'No charge is held for review: every imported charge passed the flag rules.';
    const filtered = filters.period.value || filters.rule.value || filters.source.value || filters.q.value.trim();
    if (!filtered && filters.status.value === 'pending')
      return 'No flag is pending: every one has been decided. Choose Any status to see the decisions.';
    return 'No flag matches these filters.';
  }

  tableBody.addEventListener('change', (e) => {
    const id = e.target?.dataset?.id;
    if (!id) return;
    if (e.target.checked) selected.add(id);
    else selected.delete(id);
    count.textContent = count.textContent.replace(/\d+ selected\./, `${selected.size} selected.`);
  });
  selectAll.addEventListener('change', () => {
    for (const f of matching) if (!closed.has(f.period)) selectAll.checked ? selected.add(f.id) : selected.delete(f.id);
    // The rows shown follow; the list itself is unchanged (no new render).
    for (const box of tableBody.querySelectorAll('input[type="checkbox"][data-id]')) box.checked = selected.has(box.dataset.id);
    count.textContent = count.textContent.replace(/\d+ selected\./, `${selected.size} selected.`);
  });
  let timer;
  filters.q.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(apply, 50);
  });
  for (const k of ['period', 'status', 'rule', 'source']) filters[k].addEventListener('change', apply);

  const note = el('textarea', { id: 'note', rows: '2', cols: '50' });
  const pi = el('input', { id: 'a-pi', list: 'pis', autocomplete: 'off' });
  const project = el('input', { id: 'a-project', list: 'projects', autocomplete: 'off' });
  const fund = el('input', { id: 'a-fund', list: 'funds', autocomplete: 'off' });
  const result = el('div', { id: 'decided', role: 'status' });
  const decide = async (body) => {
    if (selected.size === 0) {
      put(result, errorBox(new Error('select the flags first')));
      return;
    }
    put(result, el('p', {}, 'Saving…'));
    try {
      const r = await api('/api/flags/decide', { json: { ids: [...selected], ...body } });
      const changed = r.outcomes.reduce((n, o) => n + o.changed.length, 0);
      const skipped = r.outcomes.flatMap((o) => o.skipped);
      put(
        result,
        el(
          'p',
          {},
          `${changed} flag${changed === 1 ? '' : 's'} saved${r.committed ? `, committed ${r.committed.commit} on ${r.committed.branch}` : ''}.`,
        ),
        skipped.length
          ? el(
              'ul',
              {},
              skipped.map((k) => el('li', {}, `${k.id}: ${k.reason}`)),
            )
          : null,
      );
      const fresh = await api('/api/flags');
      flags.splice(0, flags.length, ...fresh.flags.sort(order));
      haystack.clear();
      for (const f of flags) haystack.set(f, text(f));
      selected.clear();
      apply();
      await refreshGate();
    } catch (e) {
      put(result, errorBox(e));
    }
  };
  const actions = el(
    'section',
    { class: 'card actions', 'aria-labelledby': 'decide-h' },
    el('h2', { id: 'decide-h' }, 'Decide the selected flags'),
    el('p', {}, el('label', { for: 'note' }, 'Note (required to reject; kept in flags.yaml and git)'), el('br'), note),
    el(
      'p',
      {},
      el(
        'button',
        { type: 'button', id: 'approve', onclick: () => decide({ status: 'approved', note: note.value || undefined }) },
        'Approve',
      ),
      ' ',
      el(
        'button',
        {
          type: 'button',
          id: 'reject',
          onclick: () => {
            if (!note.value.trim()) {
              put(result, errorBox(new Error('a rejection needs a note: say why')));
              note.focus();
              return;
            }
            decide({ status: 'rejected', note: note.value });
          },
        },
        'Reject',
      ),
    ),
    el(
      'fieldset',
      { class: 'fields' },
      el('legend', {}, 'Assign a PI, project and fund/org (then approve)'),
      el('label', { for: 'a-pi' }, 'PI email'),
      pi,
      el('label', { for: 'a-project' }, 'Project'),
      project,
      el('label', { for: 'a-fund' }, 'Fund/org'),
      fund,
      el(
        'button',
        {
          type: 'button',
          id: 'assign',
          onclick: () => decide({ assign: { pi_email: pi.value, project_id: project.value, fund_org: fund.value } }),
        },
        'Assign',
      ),
    ),
    el(
      'datalist',
      { id: 'pis' },
      suggestions.pis.map((p) => el('option', { value: p.email }, p.name)),
    ),
    el(
      'datalist',
      { id: 'projects' },
      [...new Set([...attributions.values()].map((a) => a.project_id))].map((p) => el('option', { value: p })),
    ),
    el(
      'datalist',
      { id: 'funds' },
      [...new Set([...attributions.values()].map((a) => a.fund_org))].map((p) => el('option', { value: p })),
    ),
    result,
  );
  put(
    view,
    el(
      'div',
      { class: 'filters', role: 'search' },
      el('label', { for: 'f-period' }, 'Period'),
      filters.period,
      el('label', { for: 'f-status' }, 'Status'),
      filters.status,
      el('label', { for: 'f-rule' }, 'Rule'),
      filters.rule,
      el('label', { for: 'f-source' }, 'Source'),
      filters.source,
      el('label', { for: 'f-q' }, 'Search'),
      filters.q,
    ),
    el('p', {}, el('label', {}, selectAll, ' Select all that match')),
    count,
    actions,
    tableBody,
  );
  apply();
}

// ── Charges ─────────────────────────────────────────────────────────────────────────────────
async function chargesPage() {
  const s = state ?? (await refreshGate());
  if (!s) return;
  if (s.periods.length === 0) {
    put(view, el('p', {}, 'No data yet.'));
    return;
  }
  const params = new URLSearchParams(location.search);
  const period = periodSelect('c-period', s.periods, params.get('period') ?? s.periods.at(-1).period, false);
  const status = el(
    'select',
    { id: 'c-status' },
    el('option', { value: '' }, 'Every charge'),
    ['billed', 'pending', 'approved', 'rejected', 'unattributed'].map((v) =>
      el('option', { value: v, selected: v === params.get('status') }, v),
    ),
  );
  const q = el('input', { id: 'c-q', type: 'search', placeholder: 'PI, project, service, resource…' });
  const out = el('div', { id: 'charges' });
  const dialog = el('dialog', { id: 'detail', 'aria-labelledby': 'detail-h' });
  let offset = 0;
  const turn = (by) => {
    offset = Math.max(0, offset + by);
    load();
  };
  const restart = () => {
    offset = 0;
    load();
  };
  const load = async () => {
    put(out, el('p', {}, 'Reading…'));
    try {
      const r = await api(
        `/api/charges?period=${period.value}&status=${status.value}&q=${encodeURIComponent(q.value)}&offset=${offset}&limit=100`,
      );
      put(
        out,
        el(
          'p',
          { role: 'status' },
          `${r.total.toLocaleString('en-US')} charge${r.total === 1 ? '' : 's'}; ${r.rows.length ? `${r.offset + 1}–${r.offset + r.rows.length}` : 'none'} shown.`,
        ),
        el(
          'table',
          {},
          head(
            'Row',
            'Status',
            'Date',
            'PI / project / fund-org',
            'Service',
            'Resource',
            { label: 'Amount', num: true },
            {
              label: 'Details',
              hidden: true,
            },
          ),
          el(
            'tbody',
            {},
            r.rows.map((c) =>
              el(
                'tr',
                {},
                el('td', { class: 'nowrap' }, el('code', {}, `${c.file}#${c.record}`)),
                el('td', {}, c.status),
                el('td', { class: 'nowrap' }, c.date ?? ''),
                el('td', {}, [c.pi_email, c.project_id, c.fund_org].map((x) => x ?? '—').join(' / ')),
                el('td', {}, c.service ?? ''),
                el('td', {}, c.resource ?? ''),
                el('td', { class: 'num' }, money(c.amount, c.currency)),
                el(
                  'td',
                  {},
                  el(
                    'button',
                    { type: 'button', onclick: () => detail(c) },
                    'Details',
                    el('span', { class: 'visually-hidden' }, ` of ${c.file} row ${c.record}`),
                  ),
                ),
              ),
            ),
          ),
        ),
        el(
          'p',
          {},
          el('button', { type: 'button', disabled: offset === 0, onclick: () => turn(-100) }, 'Previous'),
          ' ',
          el('button', { type: 'button', disabled: offset + 100 >= r.total, onclick: () => turn(100) }, 'Next'),
        ),
      );
    } catch (e) {
      put(out, errorBox(e));
    }
  };
  const detail = async (c) => {
    put(dialog, el('h2', { id: 'detail-h' }, `${c.file}, row ${c.record}`), el('p', {}, 'Reading…'));
    dialog.showModal();
    try {
      const d = await api(`/api/charge?period=${period.value}&file=${encodeURIComponent(c.file)}&record=${c.record}`);
      put(
        dialog,
        el('h2', { id: 'detail-h' }, `${d.file}, row ${d.record}${d.line ? ` (line ${d.line})` : ''}`),
        el('p', {}, `Status: ${c.status}`),
        el('h3', {}, 'Every column'),
        el(
          'table',
          {},
          el(
            'tbody',
            {},
            d.columns.map((col) => el('tr', {}, el('th', { scope: 'row' }, col.name), el('td', {}, col.value ?? ''))),
          ),
        ),
        el('h3', {}, 'Tags as in the file'),
        el('pre', {}, d.tags ?? '(none)'),
        el('h3', {}, 'Flag and decisions'),
        d.flag
          ? el(
              'div',
              {},
              el('p', {}, el('code', {}, d.flag.id), ` ${d.flag.rule}: ${d.flag.message}`),
              el(
                'p',
                {},
                `Status ${d.flag.status}${d.flag.decided_by ? ` by ${d.flag.decided_by} at ${d.flag.decided_at}` : ''}${d.flag.note ? `: ${d.flag.note}` : ''}`,
              ),
              d.history.length
                ? el(
                    'ul',
                    {},
                    d.history.map((h) => el('li', {}, el('code', {}, h.commit), ` ${h.date} ${h.author}: ${h.subject}`)),
                  )
                : el('p', { class: 'hint' }, 'Not committed yet.'),
            )
          : el('p', {}, 'Not flagged.'),
        el('form', { method: 'dialog' }, el('button', {}, 'Close')),
      );
    } catch (e) {
      put(dialog, errorBox(e), el('form', { method: 'dialog' }, el('button', {}, 'Close')));
    }
  };
  let timer;
  q.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(restart, 250);
  });
  period.addEventListener('change', restart);
  status.addEventListener('change', restart);
  put(
    view,
    el(
      'div',
      { class: 'filters', role: 'search' },
      el('label', { for: 'c-period' }, 'Period'),
      period,
      el('label', { for: 'c-status' }, 'Status'),
      status,
      el('label', { for: 'c-q' }, 'Search'),
      q,
    ),
    out,
    dialog,
  );
  await load();
}

// ── Emails ──────────────────────────────────────────────────────────────────────────────────
async function emailsPage() {
  const s = state ?? (await refreshGate());
  if (!s) return;
  if (s.periods.length === 0) {
    put(view, el('p', {}, 'No data yet.'));
    return;
  }
  const period = periodSelect('e-period', s.periods, s.periods.at(-1).period, false);
  const out = el('div', { id: 'emails' });
  const shown = el('section', { id: 'email-preview', 'aria-live': 'polite' });
  const load = async () => {
    put(out, el('p', {}, 'Reading…'));
    try {
      const r = await api(`/api/emails?period=${period.value}`);
      const sent = new Map(r.deliveries.map((d) => [d.to.toLowerCase(), d]));
      put(
        out,
        el(
          'p',
          {},
          `${r.deliveries.length} of ${r.pis.length} PIs were sent their statements for ${r.period} (periods/${r.period}/deliveries.yaml).`,
        ),
        el(
          'table',
          {},
          head('PI', 'Statements', 'Sent', { label: 'Preview', hidden: true }),
          el(
            'tbody',
            {},
            r.pis.map((p) => {
              const d = sent.get(p.email);
              return el(
                'tr',
                {},
                el('th', { scope: 'row' }, p.name, el('br'), el('span', { class: 'hint' }, p.email)),
                el('td', { class: 'num' }, String(p.statements)),
                el('td', {}, d ? `${d.sent_at} (${d.message_id})` : 'not sent'),
                el(
                  'td',
                  {},
                  el(
                    'button',
                    { type: 'button', onclick: () => previewEmail(p.email) },
                    'Preview',
                    el('span', { class: 'visually-hidden' }, ` the email to ${p.name}`),
                  ),
                ),
              );
            }),
          ),
        ),
      );
    } catch (e) {
      put(out, errorBox(e));
    }
  };
  const previewEmail = async (email) => {
    put(shown, el('p', {}, 'Composing…'));
    try {
      const m = await api(`/api/emails/preview?period=${period.value}&pi=${encodeURIComponent(email)}`);
      put(
        shown,
        el('h2', {}, `To ${m.to}: ${m.subject}`),
        el('iframe', { title: `The email to ${m.to}`, sandbox: '', srcdoc: m.html, class: 'mail' }),
        el('details', {}, el('summary', {}, 'Plain text'), el('pre', {}, m.text)),
      );
    } catch (e) {
      put(shown, errorBox(e));
    }
  };
  period.addEventListener('change', load);
  put(view, el('div', { class: 'filters' }, el('label', { for: 'e-period' }, 'Period'), period), out, shown);
  await load();
}

const pages = { home, import: importPage, review: reviewPage, charges: chargesPage, emails: emailsPage };
await refreshGate();
await pages[page]?.().catch((e) => put(view, errorBox(e)));
document.body.dataset.ready = 'true';
