/**
 * Who may talk to `focus-billing web`: a session token (printed at start-up, or OCB_WEB_TOKEN),
 * carried by an HttpOnly SameSite=Strict cookie for the browser and by `Authorization: Bearer`
 * for scripts; a Host header naming the address the app is bound to (DNS rebinding); and for a
 * browser's write, an Origin of the app itself (CSRF). Pure functions: the server applies them.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import { UserError } from '../core/errors.ts';

export const SESSION_COOKIE = 'ocb_session';

/** A token of 128 random bits, URL-safe. */
export function newToken(): string {
  return randomBytes(16).toString('base64url');
}

/** OCB_WEB_TOKEN when set (checked), else a new random one. A shared server (not loopback) needs one set. */
export function sessionToken(host: string, env: NodeJS.ProcessEnv = process.env): string {
  const set = env.OCB_WEB_TOKEN;
  if (set !== undefined) {
    if (set.length < 16 || /\s/.test(set))
      throw new UserError('OCB_WEB_TOKEN is too short to guard the app: use at least 16 characters without spaces', {
        hint: 'make one with `openssl rand -base64 24`',
      });
    return set;
  }
  if (!isLoopback(host))
    throw new UserError(`--host ${host} serves the app to the network: set OCB_WEB_TOKEN first`, {
      hint: 'a random token printed on this terminal is not enough for a shared server: export OCB_WEB_TOKEN=$(openssl rand -base64 24), and give it to the people who use the app',
    });
  return newToken();
}

export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

/** The cookie value for a token: a hash of it (the token itself is not kept in the browser). */
export function sessionValue(token: string): string {
  return createHash('sha256').update(`openchargeback-web-session\u0000${token}`).digest('base64url');
}

/** Compares secrets in constant time. */
export function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The Host headers the app answers to: the bound address and port (localhost too on loopback;
 * on a shared server, this machine's name and the names given with --allowed-host).
 */
export function allowedHosts(host: string, port: number, extra: string[] = []): Set<string> {
  const names = isLoopback(host) ? ['127.0.0.1', 'localhost', '[::1]'] : [host, hostname(), ...extra];
  if (host === '0.0.0.0' || host === '::') names.splice(0, 1);
  return new Set(names.flatMap((n) => [`${n.toLowerCase()}:${port}`]));
}

/** The Origins a write may come from: http:// and each allowed host. */
export function allowedOrigins(hosts: Set<string>): Set<string> {
  return new Set([...hosts].map((h) => `http://${h}`));
}

export type Auth = { via: 'cookie' | 'bearer' | 'query' } | { via: 'none' };

/** How a request shows the token, if it does. */
export function authenticate(token: string, request: { authorization?: string; cookie?: string; queryToken?: string }): Auth {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.authorization ?? '')?.[1];
  if (bearer !== undefined) return sameSecret(bearer, token) ? { via: 'bearer' } : { via: 'none' };
  if (request.queryToken !== undefined && sameSecret(request.queryToken, token)) return { via: 'query' };
  if (sameSecret(request.cookie, sessionValue(token))) return { via: 'cookie' };
  return { via: 'none' };
}

/**
 * Whether a write (any method but GET and HEAD) may go ahead: a browser's (cookie) needs the
 * app's own Origin; a script's (Bearer) may omit it, and is refused a foreign one.
 */
export function writeAllowed(auth: Auth, origin: string | undefined, origins: Set<string>): boolean {
  if (auth.via === 'none') return false;
  if (origin === undefined) return auth.via === 'bearer';
  return origins.has(origin.toLowerCase());
}
