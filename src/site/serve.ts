/** A small static file server for the built site, on 127.0.0.1 only. */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.pdf': 'application/pdf',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export function serveStatic(dir: string, base = '/'): Server {
  const root = resolve(dir);
  return createServer(async (req, res) => {
    try {
      let path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
      if (!path.startsWith(base)) path = '/__missing__';
      path = path.slice(base.length - 1);
      let file = normalize(join(root, path));
      if (file !== root && !file.startsWith(root + sep)) {
        res.writeHead(403).end('forbidden');
        return;
      }
      let s = await stat(file).catch(() => undefined);
      if (s?.isDirectory()) {
        file = join(file, 'index.html');
        s = await stat(file).catch(() => undefined);
      }
      if (!s) {
        const notFound = join(root, '404.html');
        res.writeHead(404, { 'content-type': TYPES['.html'] });
        createReadStream(notFound)
          .on('error', () => res.end('not found'))
          .pipe(res);
        return;
      }
      res.writeHead(200, {
        'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
        'content-length': s.size,
        'x-content-type-options': 'nosniff',
      });
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(400).end('bad request');
    }
  });
}
