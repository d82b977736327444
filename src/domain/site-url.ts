/** The site's public address (`site.base_url`, `--base-url`), which every link to a statement starts with. */

/**
 * Why `text` cannot be the site's address, or null: it must be an http(s) URL naming the site
 * alone. A `javascript:` or `mailto:` address would make every statement link run or send
 * something, and a query, fragment or credentials would end up in the middle of every link.
 */
export function siteUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `expected an http:// or https:// address, found ${url.protocol}`;
  if (url.search || url.hash || url.username || url.password)
    return "expected the site's address alone, without a query, fragment or credentials";
  return null;
}
