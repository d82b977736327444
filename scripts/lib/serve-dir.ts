/** Serves a folder of files on 127.0.0.1 (a built site, as a web server would), on a free port. */
export async function serveDir(dir: string): Promise<{ server: import('node:http').Server; base: string }> {
  const { serve } = await import('@hono/node-server');
  const { serveStatic } = await import('@hono/node-server/serve-static');
  const { Hono } = await import('hono');
  const app = new Hono();
  app.get('*', serveStatic({ root: dir }));
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as import('node:http').Server;
  await new Promise<void>((ok) => server.once('listening', () => ok()));
  return { server, base: `http://127.0.0.1:${(server.address() as { port: number }).port}/` };
}
