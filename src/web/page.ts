/** The app's HTML: one shell per page; client/app.js fills it from the API. */

export type PageName = 'home' | 'import' | 'review' | 'charges' | 'emails' | 'site-pending' | 'site-off' | 'unauthorized' | 'not-found';

const TITLES: Record<PageName, string> = {
  home: 'Billing office',
  import: 'Import',
  review: 'Review queue',
  charges: 'Charges',
  emails: 'Email log',
  'site-pending': 'The site is being built',
  'site-off': 'The live site is off',
  unauthorized: 'Open the link printed by focus-billing web',
  'not-found': 'Not found',
};

const NAV: [PageName, string, string][] = [
  ['home', '/app/', 'Overview'],
  ['import', '/app/import', 'Import'],
  ['review', '/app/review', 'Review'],
  ['charges', '/app/charges', 'Charges'],
  ['emails', '/app/emails', 'Emails'],
];

const STATIC: Partial<Record<PageName, string>> = {
  'site-pending':
    '<p>The site is being built from the working tree (a few seconds; the first time, or after a change). This page reloads itself.</p><script>setTimeout(() => location.reload(), 3000)</script>',
  'site-off':
    '<p>This app was started with <code>--no-live-site</code>, so it builds no site. Build one with <code>focus-billing build</code>, or start the app without that option.</p>',
  unauthorized:
    '<p>This app needs its session token. Open the address <code>focus-billing web</code> printed when it started (it ends in <code>?token=…</code>); scripts send <code>Authorization: Bearer &lt;token&gt;</code>.</p>',
  'not-found': '<p>There is no such page. <a href="/app/">Back to the overview</a>.</p>',
};

export function appPage(page: PageName): string {
  const nav = NAV.map(
    ([name, href, label]) => `<li><a href="${href}"${name === page ? ' aria-current="page"' : ''}>${label}</a></li>`,
  ).join('');
  const live = !STATIC[page] && page !== 'unauthorized';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${TITLES[page]} · OpenChargeback</title>
<link rel="stylesheet" href="/app/assets/app.css">
</head>
<body data-page="${page}">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <p class="brand">OpenChargeback</p>
  <nav aria-label="App"><ul>${nav}<li><a href="/site/">Site</a></li></ul></nav>
</header>
${live ? '<section id="gate" class="gate" aria-live="polite" aria-label="Merge gate"><p>Checking the repository…</p></section>' : ''}
<main id="main">
<h1>${TITLES[page]}</h1>
${STATIC[page] ?? '<div id="view"><p>Loading…</p></div>'}
</main>
${live ? '<script type="module" src="/app/assets/app.js"></script>' : ''}
</body>
</html>`;
}
