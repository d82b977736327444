/**
 * Text from the data placed in Markdown, shown as written. A project id, a fund/org or a PI's
 * name comes from tags that whoever runs the resources sets, and `[Pay now](https://…)`, `*gpu*`
 * or `&amp;` in one must reach the PI as those characters, not as a link, emphasis or `&`.
 */

/** CommonMark lets a backslash escape any ASCII punctuation character, and only those. */
const PUNCTUATION = /[!-/:-@[-`{-~]/g;

/** `text` as Markdown that renders exactly `text` (line breaks included: the text is one paragraph's worth). */
export function markdownText(text: string): string {
  return text.replace(PUNCTUATION, '\\$&');
}

/**
 * `text` as a code span: fenced by one more backtick than its longest run of them (a backtick in
 * it cannot close the span early), and padded with a space where it starts or ends with one.
 */
export function markdownCode(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

const URI_AUTOLINK = /^[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>\p{Cc}]*$/u;
const EMAIL_AUTOLINK =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Whether `<text>` is a CommonMark autolink, whose text is taken literally (no escapes are read inside one). */
export function isAutolink(text: string): boolean {
  return URI_AUTOLINK.test(text) || EMAIL_AUTOLINK.test(text);
}
