/** A period's notes.mdx, the billing office's words printed on each of its statements. */
import { readFile } from 'node:fs/promises';
import { showValue, UserError } from '../core/errors.ts';
import { encodingError } from '../core/text-encoding.ts';
import { layout, relPath } from './layout.ts';

/**
 * Why `period`'s notes.mdx cannot be printed as written, or null (also when there is none):
 * - bytes that are not UTF-8, which the site would show as U+FFFD on every statement of the period;
 * - text that is not valid MDX, which would stop the site's build after the pull request merged;
 * - anything beyond words and formatting (`codeInNotes`).
 * `validate` reports it in the pull request, and `build` refuses it, at its line and column.
 */
export async function notesProblem(root: string, period: string): Promise<UserError | null> {
  const bytes = await readFile(layout.notesFile(root, period)).catch(() => null);
  if (!bytes) return null;
  const display = relPath('periods', period, 'notes.mdx');
  return encodingError(bytes, display) ?? (await codeInNotes(bytes.toString('utf8'), display));
}

/** What of the mdast tree MDX parses is read here (its nodes carry more). */
interface Node {
  type: string;
  /** A reference's or a definition's label, as Markdown matches them (case and spaces folded). */
  identifier?: string;
  name?: string | null;
  value?: unknown;
  url?: string;
  attributes?: Node[];
  children?: Node[];
  position?: { start: { line: number; column: number } };
}

/** HTML elements a note may use: text structure and formatting, nothing that runs, loads a page or styles the statement. */
const ELEMENTS = new Set(
  (
    'a abbr b blockquote br caption cite code dd del details dfn div dl dt em figcaption figure h1 h2 h3 h4 h5 h6 hr i img ' +
    'ins kbd li mark ol p pre q s samp small span strong sub summary sup table tbody td tfoot th thead time tr u ul var'
  ).split(' '),
);
const ATTRIBUTES = new Set(
  'href src alt title width height align valign colspan rowspan scope abbr start reversed type open datetime cite lang dir target rel'.split(
    ' ',
  ),
);
const URL_ATTRIBUTES = new Set(['href', 'src', 'cite']);
const URL_SCHEMES = new Set(['http', 'https', 'mailto', 'tel']);
/** Spelled-out punctuation (`&#58;`, `&colon;`) is read as a colon, and spaces and controls left out, as browsers do. */
const unsafeUrl = (url: string) => {
  const plain = url.replace(/&(#x?[0-9a-f]+|colon);?/gi, ':').replace(/[\s\p{Cc}]/gu, '');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(plain)?.[1]?.toLowerCase();
  return scheme !== undefined && !URL_SCHEMES.has(scheme);
};

/**
 * notes.mdx is MDX, which Astro compiles into the site: an `import` or `export` line, a `{…}`
 * expression or an attribute written `{…}` runs as code on the machine that builds it, and a
 * `<script>`, an `on…` attribute or a `javascript:` link runs in every PI's browser and in the
 * Chromium that prints the PDFs; a `<style>` or `style` can restyle the amounts of the statement
 * it sits on. Notes need none of it, so only Markdown and plain HTML formatting are taken (a
 * `{/* comment *\/}` too). Each finding names its line and column; the first is the error.
 */
async function codeInNotes(text: string, display: string): Promise<UserError | null> {
  // The parser MDX itself is made of (remark-mdx), without the compiler: half the load time.
  const [{ fromMarkdown }, { mdxjs }, { mdxFromMarkdown }] = await Promise.all([
    import('mdast-util-from-markdown'),
    import('micromark-extension-mdxjs'),
    import('mdast-util-mdx'),
  ]);
  let tree: Node;
  try {
    tree = fromMarkdown(text, { extensions: [mdxjs()], mdastExtensions: [mdxFromMarkdown()] }) as Node;
  } catch (e) {
    const { reason, line, column, note } = e as { reason?: string; line?: number; column?: number; note?: string };
    if (reason === undefined) throw e;
    return new UserError(`not valid MDX: ${reason}${note ? ` (${note.replace(/^note: /, '')})` : ''}`, {
      location: { file: display, ...(line ? { line } : {}), ...(column ? { column } : {}) },
      hint: 'notes are Markdown: write \\{ for a brace and &lt; for a < that starts no tag, close every tag (<br />), and write links as [text](https://…)',
    });
  }
  const found: UserError[] = [];
  const refuse = (node: Node, what: string, hint: string) =>
    found.push(
      new UserError(what, { location: { file: display, line: node.position?.start.line, column: node.position?.start.column }, hint }),
    );
  const visit = (node: Node) => {
    switch (node.type) {
      case 'mdxjsEsm':
        refuse(node, 'an import or export in notes runs as code when the site is built', CODE_HINT);
        return;
      case 'mdxFlowExpression':
      case 'mdxTextExpression':
        // {/* a comment */} is how MDX writes one: it runs nothing.
        if (withoutComments(String(node.value)) !== '')
          refuse(node, 'a {…} expression in notes runs as code when the site is built', BRACE_HINT);
        return;
      case 'mdxJsxFlowElement':
      case 'mdxJsxTextElement':
        if (!node.name || !ELEMENTS.has(node.name)) {
          refuse(node, `<${node.name ?? ''}> is not an element notes may use`, HTML_HINT);
          return;
        }
        for (const attribute of node.attributes ?? []) checkAttribute(attribute.position ? attribute : node, attribute, node.name);
        break;
      case 'link':
      case 'image':
      case 'definition':
        if (node.url !== undefined && unsafeUrl(node.url))
          refuse(node, `${node.type === 'image' ? 'an image' : 'a link'} to ${showValue(node.url)} ${LEADS}`, LINK_HINT);
        // Astro imports a Markdown image at a relative path from the disk as it builds: a file
        // under periods/ is no record the tool reads or freezes, and ../ reaches anywhere.
        else if (node.url !== undefined && relativeUrl(node.url) && (node.type === 'image' || imageLabels.has(label(node))))
          refuse(node, `an image at ${showValue(node.url)} is read from the disk as the site is built`, IMAGE_HINT);
        break;
    }
    for (const child of node.children ?? []) visit(child);
  };
  const checkAttribute = (where: Node, attribute: Node, element: string) => {
    const name = attribute.name ?? '';
    if (attribute.type !== 'mdxJsxAttribute') refuse(where, 'a {…} attribute in notes runs as code when the site is built', BRACE_HINT);
    else if (typeof attribute.value === 'object' && attribute.value !== null)
      refuse(where, `${name}={…} in notes runs as code when the site is built`, 'write the value in quotes, as in href="https://…"');
    else if (!ATTRIBUTES.has(name.toLowerCase()))
      refuse(where, `the ${name} attribute is not one notes may use on <${element}>`, HTML_HINT);
    else if (URL_ATTRIBUTES.has(name.toLowerCase()) && typeof attribute.value === 'string' && unsafeUrl(attribute.value))
      refuse(where, `${name}=${showValue(attribute.value)} ${LEADS}`, LINK_HINT);
  };
  const imageLabels = new Set<string>();
  const collect = (node: Node) => {
    if (node.type === 'imageReference') imageLabels.add(label(node));
    for (const child of node.children ?? []) collect(child);
  };
  collect(tree);
  visit(tree);
  const [first, ...others] = found;
  if (!first) return null;
  return others.length ? first.withMore({ shown: others.slice(0, 50), count: others.length }) : first;
}

const label = (node: Node) => node.identifier ?? '';
/** A URL with no scheme that is no site path (/…) and no fragment (#…): a file beside the notes. */
const relativeUrl = (url: string) => !/^([a-z][a-z0-9+.-]*:|\/|#)/i.test(url.trim());
const IMAGE_HINT = 'show an image from the web (https://…) or from the site (/…)';
const withoutComments = (code: string) => code.replace(/\/\*[\s\S]*?\*\//g, '').trim();
const LEADS = 'leads to neither an http, https, mailto or tel address nor a page of the site';
const LINK_HINT = 'link to a web page (https://…), an email address (mailto:…) or a page of the site (/periods/…)';
const BRACE_HINT = 'write \\{ for a brace meant as text';
const CODE_HINT = "notes hold the office's words: take the line out";
const HTML_HINT =
  'notes take Markdown, and HTML for formatting (headings, emphasis, lists, tables, links, images); no scripts, styles, frames, forms or components';
