/**
 * `focus-billing web`: the billing office's app over the working tree of a billing repository.
 * Import (drag and drop, a preview, then ingest), a review queue, every charge, the email log and
 * the site as the working tree is now, on Hono. Every write runs the CLI's own code (ingest,
 * review, the repository lock) and lands in git. Who may use it: see security.ts.
 */
import { existsSync } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type HttpBindings, serve } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { type Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { simpleGit } from 'simple-git';
import { loadConfigLocated } from '../config/load.ts';
import { checkPatterns, fundOrgsOutsidePatterns } from '../config/patterns.ts';
import { loadPiDirectory } from '../config/pi-directory.ts';
import { type Config, sourceSlug } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';
import { makeDir } from '../core/make-dir.ts';
import { type Database, withDatabase } from '../db/duckdb.ts';
import { parseDataFileName, piKey } from '../domain/identity.ts';
import { isPeriod } from '../domain/period.ts';
import { composeDigest } from '../email/compose.ts';
import { readDeliveries } from '../email/deliveries.ts';
import { now, reviewer } from '../flags/decider.ts';
import { assignFlag, decideFlags, loadAllFlags, type ReviewOutcome } from '../flags/review.ts';
import type { Flag } from '../flags/schema.ts';
import { defaultBranches } from '../ingest/commit.ts';
import { removeExport } from '../ingest/remove.ts';
import { checkCanCommit, commitIdentityProblem } from '../repo/git-identity.ts';
import { layout, periodFolders, relPath } from '../repo/layout.ts';
import { notAFile, refuseLinks } from '../repo/links.ts';
import { withRepositoryLock } from '../repo/lock.ts';
import { periodStatus } from '../repo/period-file.ts';
import { recordedExport } from '../repo/stored-export.ts';
import { isDataFileName, listPeriods as periodsWithData } from '../report/period-report.ts';
import { PACKAGE_ROOT } from '../site/astro.ts';
import { loadSiteModel } from '../site/load-model.ts';
import { validateRepository } from '../validate/validate.ts';
import { chargeDetail, chargePage } from './charges.ts';
import { convertChoices, detectKind, guessPeriod, guessSource, importFile, KIND_LABELS, KINDS, type Kind } from './import.ts';
import { LiveSite } from './live-site.ts';
import { appPage } from './page.ts';
import { allowedHosts, allowedOrigins, authenticate, isLoopback, SESSION_COOKIE, sessionValue, writeAllowed } from './security.ts';
import { HttpError, receiveUpload, type Upload } from './upload.ts';

export interface WebOptions {
  root: string;
  host: string;
  port: number;
  token: string;
  /** More names the app answers to (a shared server's DNS name). */
  allowedHosts?: string[];
  /** Build the live site (off in tests that do not look at it). */
  liveSite?: boolean;
  say?: (text: string) => void;
}

export interface WebServer {
  url: string;
  port: number;
  close: () => Promise<void>;
  /** The live site, for tests that wait for it. */
  site: LiveSite;
}

/** A kept upload: its files, what each is, and what the app guessed. */
interface Kept {
  upload: Upload;
  at: number;
  files: { name: string; path: string; bytes: number; kind: Kind; source?: string; period?: string }[];
  progress?: string;
}

type Env = { Bindings: HttpBindings };

const CLIENT_DIR = join(PACKAGE_ROOT, 'src', 'web', 'client');

export async function startWeb(options: WebOptions): Promise<WebServer> {
  const root = options.root;
  // The config must load before anything is served: a broken config.yaml is said at once.
  await loadConfigLocated(root);
  const identity = await commitIdentityProblem(root);
  if (identity)
    options.say?.(
      `warning: git cannot commit here (${identity}): imports and review decisions are refused until git config user.name and user.email are set`,
    );
  const site = new LiveSite(root, options.say ?? (() => {}), options.liveSite !== false);
  await makeDir(site.dir);
  const uploads = new Map<string, Kept>();
  const flagCache = new FlagCache(root);
  let hosts = new Set<string>();
  let origins = new Set<string>();
  const app = new Hono<Env>();

  // ── Who may ask ────────────────────────────────────────────────────────────────────────
  app.use('*', async (c, next) => {
    const host = (c.req.header('host') ?? '').toLowerCase();
    if (!hosts.has(host)) return c.text(`421 Misdirected Request: this app answers to ${[...hosts].join(', ')}`, 421);
    const url = new URL(c.req.url);
    const auth = authenticate(options.token, {
      authorization: c.req.header('authorization'),
      cookie: getCookie(c, SESSION_COOKIE),
      queryToken: c.req.method === 'GET' ? (url.searchParams.get('token') ?? undefined) : undefined,
    });
    if (auth.via === 'none') return unauthorized(c);
    if (auth.via === 'query') {
      // The start-up link: the token becomes a session cookie, and leaves the address bar.
      setCookie(c, SESSION_COOKIE, sessionValue(options.token), { httpOnly: true, sameSite: 'Strict', path: '/' });
      url.searchParams.delete('token');
      return c.redirect(`${url.pathname}${url.search}`, 303);
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !writeAllowed(auth, c.req.header('origin'), origins))
      return json(c, 403, { error: { message: 'refused: a write from another origin (or a browser write without its Origin)' } });
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('X-Frame-Options', 'SAMEORIGIN');
    await next();
  });

  // ── Pages ──────────────────────────────────────────────────────────────────────────────
  app.get('/', (c) => c.redirect('/app/', 302));
  for (const page of ['', 'import', 'review', 'charges', 'emails'] as const)
    app.get(`/app/${page}`, (c) => c.html(appPage(page || 'home')));
  app.get('/app/assets/*', serveStatic({ root: CLIENT_DIR, rewriteRequestPath: (p) => p.replace(/^\/app\/assets/, '') }));
  if (site.status().enabled) {
    // A page the site lacks: not yet, while a build runs (the page reloads itself), else no such page.
    app.get('/site/*', serveStatic({ root: site.dir, rewriteRequestPath: (p) => p.replace(/^\/site/, '') || '/' }), (c) => {
      const { building, built_at } = site.status();
      if (!building && built_at !== null) return c.html(appPage('not-found'), 404);
      return c.html(appPage('site-pending'), site.error ? 500 : 503);
    });
  } else {
    // Without the live site (web --no-live-site), none: not one an earlier run built, which would be stale.
    app.get('/site/*', (c) => c.html(appPage('site-off'), 404));
  }

  // ── State ──────────────────────────────────────────────────────────────────────────────
  app.get('/api/state', (c) =>
    handle(c, async () => {
      const config = (await loadConfigLocated(root)).data;
      const periods = [];
      for (const period of await periodsShown(root)) {
        const flags = await flagCache.get(period);
        const count = (status: string) => flags.filter((f) => f.status === status).length;
        periods.push({
          period,
          status: await periodStatus(root, period),
          pending: count('pending'),
          approved: count('approved'),
          rejected: count('rejected'),
          exports: await storedExports(root, config, period, flags),
        });
      }
      const git = simpleGit(root);
      return {
        periods,
        sources: config.sources.map((s) => s.name),
        repository: root,
        branch: await branchShown(git),
        reviewer: await reviewer(root),
        site: site.status(),
        kinds: KINDS.map((k) => ({ kind: k, label: KIND_LABELS[k] })),
      };
    }),
  );
  // What still blocks merging: `validate --require-reviewed`, which reads every file (slower).
  app.get('/api/gate', (c) =>
    handle(c, () =>
      repo(root, async ({ config, db }) => {
        const v = await validateRepository(db, root, config, { requireReviewed: true });
        return {
          ok: v.ok,
          blocking: v.findings.filter((f) => f.level === 'error'),
          warnings: v.findings.filter((f) => f.level === 'warning'),
        };
      }),
    ),
  );

  // ── Import ─────────────────────────────────────────────────────────────────────────────
  app.post('/api/import/upload', (c) =>
    handle(c, async () => {
      const config = (await loadConfigLocated(root)).data;
      const upload = await receiveUpload(c.env.incoming as IncomingMessage, root, maxUpload(config));
      if (upload.files.length === 0) {
        await upload.discard();
        throw new HttpError(400, 'no file in the upload', 'send the file as the "file" part of multipart/form-data');
      }
      const id = upload.dir.split('/').pop() as string;
      const files = [];
      for (const f of upload.files) {
        const kind = await detectKind(f.path);
        files.push({ ...f, kind, source: guessSource(config, f.name, kind), period: guessPeriod(f.name) });
      }
      uploads.set(id, { upload, at: Date.now(), files });
      forgetOldUploads(uploads);
      return { upload: id, files: files.map(({ path: _path, ...f }) => f) };
    }),
  );
  app.get('/api/import/progress', (c) => c.json({ progress: uploads.get(c.req.query('upload') ?? '')?.progress ?? null }));
  app.post('/api/import/preview', (c) => handle(c, () => runImport(c, true)));
  app.post('/api/import/run', (c) => handle(c, () => runImport(c, false)));
  app.post('/api/import', (c) =>
    handle(c, async () => {
      // For scripts: one request, the file and what to do with it.
      const config = (await loadConfigLocated(root)).data;
      const upload = await receiveUpload(c.env.incoming as IncomingMessage, root, maxUpload(config));
      try {
        const file = upload.files[0];
        if (!file) throw new HttpError(400, 'no file in the upload', 'send the file as the "file" part of multipart/form-data');
        // A second file would have gone unread while the answer said the first was imported.
        if (upload.files.length > 1)
          throw new HttpError(
            400,
            `one file per import: found ${upload.files.length} (${upload.files.map((u) => JSON.stringify(u.name)).join(', ')})`,
            'send each file in a request of its own',
          );
        const f = upload.fields;
        if (!f.source)
          throw new HttpError(
            400,
            'source: which source the file is from, as named in config.yaml',
            `one of ${config.sources.map((s) => s.name).join(', ')}`,
          );
        if (f.period !== undefined && f.period !== '' && !isPeriod(f.period))
          throw new HttpError(400, `period ${JSON.stringify(f.period)}: expected YYYY-MM`);
        const kind = await detectKind(file.path);
        const result = await repo(root, ({ config, db }) =>
          importFile(db, config, {
            root,
            file,
            kind,
            source: f.source as string,
            period: f.period || undefined,
            convert: convertChoices(f),
            replace: truthy(f.replace),
            commit: truthy(f.commit),
          }),
        );
        site.rebuild();
        return result.report;
      } finally {
        await upload.discard();
      }
    }),
  );

  async function runImport(c: Context<Env>, dryRun: boolean) {
    const body = await jsonObject(c, 'expected a JSON body: { upload, file, source, period, nested, timezone, replace, commit }');
    const kept = uploads.get(String(body.upload ?? ''));
    if (!kept) throw new HttpError(404, 'no such upload (uploads are kept for an hour): drop the file again');
    const file = kept.files.find((f) => f.name === body.file) ?? (kept.files.length === 1 ? kept.files[0] : undefined);
    if (!file) throw new HttpError(400, `file: expected one of ${kept.files.map((f) => f.name).join(', ')}`);
    const kind = typeof body.kind === 'string' && (KINDS as readonly string[]).includes(body.kind) ? (body.kind as Kind) : file.kind;
    if (!body.source) throw new HttpError(400, 'choose the source the file is from');
    if (body.period && (typeof body.period !== 'string' || !isPeriod(body.period)))
      throw new HttpError(400, `period ${JSON.stringify(body.period)}: expected YYYY-MM`);
    const convert = convertChoices(body);
    kept.progress = dryRun ? 'Checking…' : 'Importing…';
    try {
      const result = await repo(
        root,
        ({ config, db }) =>
          importFile(db, config, {
            root,
            file,
            kind,
            source: String(body.source),
            period: (body.period as string) || undefined,
            convert,
            replace: body.replace === true,
            commit: body.commit === true,
            dryRun,
            lock: { say: (t) => (kept.progress = t) },
          }),
        (percent) => (kept.progress = `${dryRun ? 'Checking' : 'Importing'}: ${percent}% read`),
      );
      if (!dryRun) {
        site.rebuild();
        const committed = result.report.committed;
        return {
          ...result,
          push: committed ? `git push -u origin ${committed.branch}` : null,
          pull_request: committed ? `gh pr create --head ${committed.branch} --fill` : null,
        };
      }
      return result;
    } finally {
      kept.progress = undefined;
    }
  }

  // An export imported under the wrong source or into the wrong month comes out, with its flags.
  app.post('/api/exports/remove', (c) =>
    handle(c, async () => {
      const body = await jsonObject(c, 'expected a JSON body: { period, source, force, commit }');
      if (typeof body.period !== 'string' || !isPeriod(body.period))
        throw new HttpError(400, `period ${JSON.stringify(body.period)}: expected YYYY-MM`);
      if (typeof body.source !== 'string' || !body.source) throw new HttpError(400, 'source: the source the export is stored under');
      const config = (await loadConfigLocated(root)).data;
      // Committed where the app commits its other changes: the branch checked out, unless it is the default one.
      const git = simpleGit(root);
      const current = (await git.branchLocal().catch(() => null))?.current;
      const branch = current && !(await defaultBranches(git)).has(current) ? current : undefined;
      const report = await removeExport(config, {
        root,
        period: body.period,
        source: body.source,
        force: body.force === true,
        commit: body.commit === false ? undefined : { branch },
        lock: { say: () => {} },
      });
      site.rebuild();
      return report;
    }),
  );

  // ── Review ─────────────────────────────────────────────────────────────────────────────
  app.get('/api/flags', (c) =>
    handle(c, async () => {
      const period = c.req.query('period') || undefined;
      const status = c.req.query('status') || undefined;
      if (period && !isPeriod(period)) throw new HttpError(400, `period ${JSON.stringify(period)}: expected YYYY-MM`);
      if (status && !['pending', 'approved', 'rejected'].includes(status))
        throw new HttpError(400, `status ${JSON.stringify(status)}: expected pending, approved or rejected`);
      const periods = period ? [period] : await listPeriodsWithFlags(root);
      const flags = [];
      for (const p of periods) for (const f of await flagCache.get(p)) if (!status || f.status === status) flags.push({ period: p, ...f });
      return { flags };
    }),
  );
  // The PI directory, for assigning: the client adds the attributions its flags already hold.
  app.get('/api/suggestions', (c) =>
    handle(c, async () => {
      const directory = await loadPiDirectory(root).catch(() => null);
      return { pis: [...(directory ?? new Map()).entries()].map(([email, e]) => ({ email, name: e.name })) };
    }),
  );
  app.post('/api/flags/decide', (c) =>
    handle(c, async () => {
      const body = await jsonObject(c, 'expected a JSON body: { ids, status, note } or { ids, assign }');
      // Ids are text (a number is taken as its digits); anything else, a list in a list, is no id.
      const ids =
        Array.isArray(body.ids) && body.ids.every((id) => typeof id === 'string' || typeof id === 'number') ? body.ids.map(String) : [];
      if (ids.length === 0) throw new HttpError(400, 'ids: name the flags to decide, as a list of flag ids');
      await refuseLinks(root);
      if (body.commit !== false) await checkCanCommit(root);
      const who = await reviewer(root);
      const lock = { say: () => {} };
      const outcomes: ReviewOutcome[] = [];
      let action: string;
      if (body.assign) {
        const a = body.assign as Record<string, unknown>;
        const text = (name: 'pi_email' | 'project_id' | 'fund_org') => {
          const v = a[name];
          if (v === undefined || v === null) return '';
          if (typeof v === 'string' || typeof v === 'number') return String(v);
          throw new HttpError(400, `assign.${name}: expected text`);
        };
        const assignment = { pi_email: text('pi_email'), project_id: text('project_id'), fund_org: text('fund_org') };
        await repo(root, async ({ config, db }) => {
          for (const id of ids)
            outcomes.push(await assignFlag(root, { id }, assignment, lock, (values) => fundOrgsOutsidePatterns(db, config, values)));
        });
        action = `assign ${a.pi_email} / ${a.project_id} / ${a.fund_org} to`;
      } else {
        if (body.status !== 'approved' && body.status !== 'rejected') throw new HttpError(400, 'status: expected approved or rejected');
        outcomes.push(
          ...(await decideFlags(
            root,
            { ids },
            { status: body.status, reviewer: who, at: now(), note: typeof body.note === 'string' ? body.note : undefined },
            lock,
          )),
        );
        action = body.status === 'approved' ? 'approve' : 'reject';
      }
      const committed = body.commit === false ? null : await commitReview(root, outcomes, action, who, body.note);
      site.rebuild();
      return { outcomes, committed };
    }),
  );

  // ── Charges ────────────────────────────────────────────────────────────────────────────
  app.get('/api/charges', (c) =>
    handle(c, async () => {
      const period = periodParam(c);
      const flags = await flagCache.get(period);
      return repo(root, ({ config, db }) =>
        chargePage(db, root, config, period, flags, {
          status: c.req.query('status') || undefined,
          q: c.req.query('q') || undefined,
          offset: countParam(c, 'offset', 0),
          limit: countParam(c, 'limit', 100),
        }),
      );
    }),
  );
  app.get('/api/charge', (c) =>
    handle(c, async () => {
      const period = periodParam(c);
      const flags = await flagCache.get(period);
      return repo(root, ({ config, db }) =>
        chargeDetail(db, root, config, period, flags, { file: c.req.query('file') ?? '', record: wholeNumber(c.req.query('record')) }),
      );
    }),
  );

  // ── Email log ──────────────────────────────────────────────────────────────────────────
  app.get('/api/emails', (c) =>
    handle(c, async () => {
      const period = periodParam(c);
      const deliveries = await readDeliveries(root, period);
      const pis = await repo(root, async ({ config, db }) => {
        const { model } = await loadSiteModel(db, config, { root, periods: [period], audience: 'admin', progress: () => {} });
        return (model.periods[0]?.pis ?? []).map((p) => ({ email: p.email, name: p.name, statements: p.statements.length }));
      });
      return { period, deliveries: deliveries.deliveries, pis };
    }),
  );
  app.get('/api/emails/preview', (c) =>
    handle(c, async () => {
      const period = periodParam(c);
      const who = piKey(c.req.query('pi') ?? '');
      return repo(root, async ({ config, db }) => {
        const { model } = await loadSiteModel(db, config, { root, periods: [period], audience: 'admin', progress: () => {} });
        const view = model.periods[0];
        const pi = view?.pis.find((p) => p.email === who);
        if (!view || !pi) throw new HttpError(404, `${who || 'that PI'} has no statement in ${period}`);
        const base = config.site.base_url ?? `http://${[...hosts][0]}/site/`;
        return composeDigest(pi, { period, label: view.label }, config, base);
      });
    }),
  );

  app.notFound((c) =>
    c.req.path.startsWith('/api/')
      ? json(c, 404, { error: { message: `no such endpoint: ${c.req.method} ${c.req.path}` } })
      : c.html(appPage('not-found'), 404),
  );

  // ── Listening ──────────────────────────────────────────────────────────────────────────
  // Sockets read in megabytes (uploads of hundreds of megabytes arrive in 16 KB reads otherwise).
  const server = serve({ fetch: app.fetch, port: options.port, hostname: options.host, serverOptions: { highWaterMark: 1 << 20 } });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', () => resolve());
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new UserError(`port ${options.port} is in use`, { hint: 'pass --port <another>' }) : e),
    );
  });
  const port = (server.address() as AddressInfo).port;
  hosts = allowedHosts(options.host, port, options.allowedHosts);
  origins = allowedOrigins(hosts);
  site.rebuild();
  const shown =
    isLoopback(options.host) || options.host === '0.0.0.0'
      ? isLoopback(options.host)
        ? '127.0.0.1'
        : [...hosts][0]?.split(':')[0]
      : options.host;
  return {
    url: `http://${shown}:${port}/`,
    port,
    site,
    close: async () => {
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      (server as Server).closeAllConnections();
      await closing;
      await site.idle();
      for (const kept of uploads.values()) await kept.upload.discard();
      await rm(join(root, '.cache', 'web', 'uploads'), { recursive: true, force: true });
    },
  };
}

/**
 * A JSON request's body, which must be an object (`null`, a list or a number is refused as any
 * other bad body). A request is a few lines (a decision, an import's choices): one over
 * MAX_JSON_BYTES is answered 413, its body drained unkept so the client gets the answer (files
 * go to /api/import/upload).
 */
async function jsonObject(c: Context<Env>, expected: string): Promise<Record<string, unknown>> {
  const tooLarge = () =>
    new HttpError(
      413,
      `the request is over ${MAX_JSON_BYTES.toLocaleString('en-US')} bytes of JSON`,
      'decide flags in parts; a file is sent to /api/import/upload',
    );
  if (Number(c.req.header('content-length') ?? 0) > MAX_JSON_BYTES) {
    (c.env.incoming as IncomingMessage).resume();
    throw tooLarge();
  }
  const text = await c.req.text().catch(() => '');
  if (text.length > MAX_JSON_BYTES) throw tooLarge();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, expected);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, expected);
  // No request is nested deep: one that is would overflow the stack of whatever reads a value (String, JSON.stringify).
  if (depthOver(body, MAX_JSON_DEPTH))
    throw new HttpError(400, `the JSON body is nested more than ${MAX_JSON_DEPTH} levels deep`, expected);
  return body as Record<string, unknown>;
}

/** The deepest a JSON request nests: { assign: { … } } is two. */
const MAX_JSON_DEPTH = 8;

/** Whether a parsed JSON value nests deeper than `limit` lists and objects, found without recursion. */
function depthOver(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** Config (with its patterns checked) and DuckDB, as the CLI's commands have them. */
async function repo<T>(
  root: string,
  fn: (ctx: { config: Config; db: Database }) => Promise<T>,
  progress?: (percent: number) => void,
): Promise<T> {
  const located = await loadConfigLocated(root);
  return withDatabase(async (db) => {
    await checkPatterns(db, located);
    if (progress) db.watchProgress(progress);
    return fn({ config: located.data, db });
  });
}

/** Periods that have a flags.yaml. */
async function listPeriodsWithFlags(root: string): Promise<string[]> {
  return (await loadAllFlagsPeriods(root)).sort();
}

/**
 * The exports a period holds: each source's stored files, named as config.yaml names the source.
 * A source whose flags, or record of a compressed export, outlived the export (a git rm) is listed
 * with no files and what is left (`leftover`), so that it can be taken out.
 */
async function storedExports(
  root: string,
  config: Config,
  period: string,
  flags: Flag[],
): Promise<{ source: string; files: string[]; leftover: string | null }[]> {
  const names = (await readdir(layout.periodDataDir(root, period)).catch(() => [] as string[])).sort();
  const bySlug = new Map<string, string[]>();
  for (const name of names) {
    const slug = parseDataFileName(name)?.slug;
    if (slug !== undefined) bySlug.set(slug, [...(bySlug.get(slug) ?? []), name]);
  }
  const flagged = new Set(flags.map((f) => f.source));
  const recorded = new Set(names.map(recordSlug).filter((s) => s !== undefined));
  for (const slug of [...flagged, ...recorded]) if (!bySlug.has(slug)) bySlug.set(slug, []);
  return [...bySlug].map(([slug, files]) => ({
    source: config.sources.find((s) => sourceSlug(s) === slug)?.name ?? slug,
    files,
    leftover: files.length ? null : `${[flagged.has(slug) && 'flags', recorded.has(slug) && 'record'].filter(Boolean).join(' and ')} only`,
  }));
}

/** The source of ingest's record of a compressed export (`aws.csv.gz.original.json`), or undefined. */
function recordSlug(name: string): string | undefined {
  return parseDataFileName(recordedExport(name) ?? '')?.slug;
}

/** The periods the home page lists: those with an export, a record left of one, or flags. */
async function periodsShown(root: string): Promise<string[]> {
  const withData = await periodsWithData(root, (n) => isDataFileName(n) || recordSlug(n) !== undefined);
  return [...new Set([...withData, ...(await loadAllFlagsPeriods(root))])].sort();
}

async function loadAllFlagsPeriods(root: string): Promise<string[]> {
  const dirs = await periodFolders(layout.periodsDir(root));
  return dirs.filter((p) => existsSync(layout.flagsFile(root, p)));
}

/**
 * Parsed flags.yaml files, kept while the file is unchanged (its size and modification time):
 * a queue of 20,000 flags is parsed once, not on every request.
 */
class FlagCache {
  private readonly kept = new Map<string, { key: string; flags: Flag[] }>();
  constructor(private readonly root: string) {}

  async get(period: string): Promise<Flag[]> {
    const path = layout.flagsFile(this.root, period);
    const s = await lstat(path).catch(() => null);
    if (!s) return [];
    if (!s.isFile()) throw notAFile(relPath('periods', period, 'flags.yaml'), s.isSymbolicLink());
    const key = `${s.ino}:${s.size}:${s.mtimeMs}`;
    const hit = this.kept.get(path);
    if (hit?.key === key) return hit.flags;
    const [p] = await loadAllFlags(this.root, period);
    const flags = p?.flags ?? [];
    this.kept.set(path, { key, flags });
    return flags;
  }
}

function periodParam(c: Context<Env>): string {
  const period = c.req.query('period') ?? '';
  if (!isPeriod(period)) throw new HttpError(400, `period ${JSON.stringify(period)}: expected a month as YYYY-MM`);
  return period;
}

/** The branch checked out, as the gate names it: before the first commit git lists none. */
async function branchShown(git: ReturnType<typeof simpleGit>): Promise<string | null> {
  const current = (await git.branchLocal().catch(() => null))?.current;
  if (current) return current;
  const unborn = (await git.raw(['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '')).trim();
  return unborn ? `${unborn} (no commit yet)` : null;
}

/** A count in the query (`offset`, `limit`): a whole number written in digits, or `fallback` when absent. */
/** A query's whole number, written as digits (1e3, 0x10 or 10^20, which SQL cannot take as an OFFSET, are none): NaN otherwise. */
function wholeNumber(text: string | undefined): number {
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
}

function countParam(c: Context<Env>, name: string, fallback: number): number {
  const text = c.req.query(name);
  if (text === undefined || text === '') return fallback;
  const n = wholeNumber(text);
  if (!Number.isSafeInteger(n)) throw new HttpError(400, `${name} ${JSON.stringify(text)}: expected a whole number such as ${fallback}`);
  return n;
}

/** The most bytes of a JSON request: ids of 100,000 flags with a note. */
const MAX_JSON_BYTES = 4 << 20;
const maxUpload = (config: Config) => config.web.max_upload_mb * 1024 * 1024;
const truthy = (v: string | undefined) => v === 'true' || v === '1' || v === 'on' || v === 'yes';

function forgetOldUploads(uploads: Map<string, Kept>): void {
  const hour = 3_600_000;
  for (const [id, kept] of uploads)
    if (Date.now() - kept.at > hour) {
      uploads.delete(id);
      void kept.upload.discard();
    }
}

/**
 * Commits the flags.yaml files a decision changed, naming the flags and the reviewer: on the
 * current branch, or, on the default branch, on review/<period> (made from it), never on it.
 */
async function commitReview(
  root: string,
  outcomes: ReviewOutcome[],
  action: string,
  who: string,
  note: unknown,
): Promise<{ branch: string; commit: string } | null> {
  const changed = outcomes.filter((o) => o.changed.length > 0);
  if (changed.length === 0) return null;
  return withRepositoryLock(root, 'focus-billing web: commit review decisions', async () => {
    const git = simpleGit(root);
    let branch = (await git.branchLocal()).current;
    if ((await defaultBranches(git)).has(branch)) {
      branch = `review/${changed.map((o) => o.period).join('-')}`;
      const exists = (await git.branchLocal()).all.includes(branch);
      await (exists ? git.checkout(branch) : git.checkoutLocalBranch(branch));
    }
    const ids = changed.flatMap((o) => o.changed);
    const files = changed.map((o) => `periods/${o.period}/flags.yaml`);
    await git.add(files);
    const subject = `Review ${changed.map((o) => o.period).join(', ')}: ${action} ${ids.length} flag${ids.length === 1 ? '' : 's'}`;
    const body = [
      `Flags: ${ids.join(', ')}`,
      `Reviewer: ${who}`,
      ...(typeof note === 'string' && note.trim() ? [`Note: ${note.trim()}`] : []),
    ].join('\n');
    const result = await git.commit([subject, body], files);
    return { branch, commit: result.commit };
  });
}

function json(c: Context<Env>, status: 400 | 401 | 403 | 404 | 409 | 413 | 421 | 423 | 500, body: unknown) {
  return c.json(body, status);
}

function unauthorized(c: Context<Env>) {
  if (c.req.path.startsWith('/api/'))
    return json(c, 401, {
      error: {
        message: 'no session: send Authorization: Bearer <token>',
        hint: 'the token is printed by focus-billing web, or set with OCB_WEB_TOKEN',
      },
    });
  return c.html(appPage('unauthorized'), 401);
}

/** Runs an API handler: its value as JSON; a refusal or bad input as { error } with its status. */
async function handle(c: Context<Env>, fn: () => Promise<unknown>) {
  try {
    return c.json((await fn()) as object);
  } catch (e) {
    if (e instanceof HttpError) return json(c, e.status, { error: { message: e.message, hint: e.hint } });
    if (e instanceof UserError) {
      const closed = /is closed/.test(e.message);
      const more = e.more && {
        count: e.more.count,
        stopped_at: e.more.stoppedAt,
        shown: e.more.shown.map((m) => ({ message: m.message, location: m.location, hint: m.hint })),
      };
      return json(c, closed ? 409 : 400, { error: { message: e.message, location: e.location, hint: e.hint, more } });
    }
    return json(c, 500, { error: { message: `internal error: ${(e as Error).message}` } });
  }
}
