/**
 * Attribution from Tags, in SQL. Each attribute's value is first found as JSON text (so a string
 * can be told from an object, array or boolean), then decoded:
 *
 * - Fast path: one JSON parse per row extracts every exact key spelling (configured names, bare
 *   and with each prefix, in precedence order); the first present, non-null, non-empty one wins.
 * - Slow path, only for rows where that found nothing but the text mentions the key: a
 *   case-insensitive scan of all keys with prefixes stripped (e.g. `PI_Email`, ` org`).
 *
 * A value that is an object, array or boolean is kept as its JSON text and marked bad, so the
 * flag rules hold it for review instead of billing a PI named `{"x":1}`.
 */
import type { Config } from '../config/schema.ts';
import { sqlString } from '../db/params.ts';
import type { Attribute } from '../domain/rules.ts';

/** Characters trimmed from both ends of every value: spaces and no-break spaces. */
export const PAD = ' \u00a0';

/** A text value with surrounding spaces removed (NULL when nothing remains), or NULL when absent. */
export function trimmedSql(value: string): string {
  // Trimming every value costs more than reading the file; testing the ends first is nearly free.
  const padded = [...PAD].flatMap((c) => [`${value} LIKE '${c}%'`, `${value} LIKE '%${c}'`]).join(' OR ');
  return `CASE WHEN ${padded} THEN nullif(trim(${value}, '${PAD}'), '') ELSE nullif(${value}, '') END`;
}

/**
 * Tag keys to look up exactly (fast path): each configured spelling, bare and with each prefix,
 * in precedence order. Given the keys a file was `seen` to use, only those up to the last one
 * seen: whatever the fast path finds is then what the full list would have found.
 */
export function tagKeyVariants(config: Config, attribute: Attribute, seen?: readonly string[]): string[] {
  const prefixes = ['', ...config.tag_mapping.strip_prefixes];
  const names = config.tag_mapping[attribute].flatMap((k) => [k, k.toLowerCase()]);
  const all = [...new Set(prefixes.flatMap((p) => names.map((n) => `${p}${n}`)))];
  if (!seen) return all;
  const last = all.reduce((n, k, i) => (seen.includes(k) ? i : n), 0);
  return all.slice(0, last + 1);
}

/** A JSON pointer to a top-level key (RFC 6901 escaping), safe for any key text. */
export function jsonPointer(key: string): string {
  return `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** Every JSON pointer the fast path looks up for these attributes. */
export function tagPaths(config: Config, attributes: readonly Attribute[], seen?: readonly string[]): string[] {
  return [...new Set(attributes.flatMap((a) => tagKeyVariants(config, a, seen).map(jsonPointer)))];
}

/** The JSON text of each looked-up key (VARCHAR[]), or NULL when Tags is not a JSON object. */
export function tagJsonSql(tags: string, paths: string[]): string {
  const list = sqlString(`[${paths.map((p) => JSON.stringify(p)).join(', ')}]`);
  return `CASE WHEN starts_with(${tags}, '{') THEN TRY(json_extract(${tags}, ${list}::VARCHAR[]))::VARCHAR[] END`;
}

/** A key's JSON text when it holds something: JSON null and the empty string count as absent. */
const present = (json: string) => `nullif(nullif(${json}, 'null'), '""')`;

/** Fast path: the JSON text of the first spelling present. */
export function fastTagSql(config: Config, attribute: Attribute, paths: string[], seen?: readonly string[]): string {
  const exact = tagKeyVariants(config, attribute, seen).map((k) => present(`_tag_json[${paths.indexOf(jsonPointer(k)) + 1}]`));
  return exact.length === 1 ? (exact[0] as string) : `coalesce(${exact.join(', ')})`;
}

/** The attribute's configured key names, lower case and trimmed: what the slow path compares keys to. */
function wantedKeys(config: Config, attribute: Attribute): string[] {
  return [...new Set(config.tag_mapping[attribute].map((k) => k.toLowerCase().trim()))];
}

/**
 * SQL: `_tags_raw` mentions one of the attribute's key names, in any case. Every key either path
 * finds contains one, so a text that mentions none holds no value for the attribute.
 *
 * The report asks this of every row (see surelyHeldSql in report/report-query.ts), and lowering
 * each row's text cost a third of a second per million rows. A text that holds an ASCII name as
 * written mentions it (lowering leaves those bytes as they are), so only a text that does not is
 * lowered: the same answer for about a tenth of the time.
 */
export function mentionsSql(config: Config, attribute: Attribute): string {
  return wantedKeys(config, attribute)
    .map((k) => {
      const inAnyCase = `contains(lower(_tags_raw), ${sqlString(k)})`;
      const ascii = [...k].every((c) => c.charCodeAt(0) < 0x80);
      return ascii ? `CASE WHEN contains(_tags_raw, ${sqlString(k)}) THEN true ELSE ${inAnyCase} END` : inAnyCase;
    })
    .join(' OR ');
}

/** SQL: a key (`e.key`) lower-cased, trimmed, and stripped of the first configured prefix it starts with. */
function normKeySql(config: Config): string {
  const prefixRe = config.tag_mapping.strip_prefixes.map((p) => escapeRe(p.toLowerCase())).join('|');
  return prefixRe ? `regexp_replace(lower(trim(e.key, '${PAD}')), ${sqlString(`^(${prefixRe})`)}, '')` : `lower(trim(e.key, '${PAD}'))`;
}

/** SQL: every key-value entry of `_tags_raw` whose key is one of the attribute's names and whose value holds something. */
function entriesSql(config: Config, attribute: Attribute): string {
  return `list_filter(map_entries(TRY(json_transform(_tags_raw, '"MAP(VARCHAR, JSON)"'))),
      e -> ${normKeySql(config)} IN (${wantedKeys(config, attribute).map(sqlString).join(', ')}) AND ${present('e.value::VARCHAR')} IS NOT NULL)`;
}

/**
 * The attribute's JSON text: the fast path's, or, when that found nothing and the text mentions
 * one of the names, the case-insensitive scan's. Several matching keys: the fast path's
 * precedence (prefix order, then name order) decides.
 */
export function tagSql(config: Config, attribute: Attribute): string {
  const wanted = wantedKeys(config, attribute);
  const normKey = normKeySql(config);
  const mentions = mentionsSql(config, attribute);
  const key = `lower(trim(e.key, '${PAD}'))`;
  const prefixRank = `CASE ${config.tag_mapping.strip_prefixes.map((p, i) => `WHEN starts_with(${key}, ${sqlString(p.toLowerCase())}) THEN ${i + 1}`).join(' ')} ELSE 0 END`;
  const rank = `${config.tag_mapping.strip_prefixes.length ? prefixRank : '0'} * 1000 + list_position([${wanted.map(sqlString).join(', ')}], ${normKey})`;
  const slow = `list_sort(list_transform(${entriesSql(config, attribute)},
      e -> {rank: ${rank}, value: e.value::VARCHAR}))[1].value`;
  return `CASE WHEN _jf_${attribute} IS NULL AND NOT tags_invalid AND (${mentions}) THEN ${slow} ELSE _jf_${attribute} END`;
}

/**
 * SQL: Tags holds the attribute under two or more keys (other spellings, cases or prefixes)
 * whose values differ, as in `{"pi_email": "a@x.edu", "user:pi_email": "b@x.edu"}`. Precedence
 * would bill one of them without a word, when either may be the PI. Values are compared as
 * statements read them: trimmed, in Unicode's composed form, an email in lower case (see piKey).
 *
 * Every key is parsed only where the text names the attribute twice (`_tags_lower`, the text in
 * lower case; a name inside another, as `project` in `project_id`, counts once), or writes a
 * character as an escape (`pi\u005femail` is `pi_email`): elsewhere no second key can be there.
 */
export function conflictSql(config: Config, attribute: Attribute): string {
  const wanted = wantedKeys(config, attribute);
  const counted = wanted.filter((k) => !wanted.some((o) => o !== k && k.includes(o)));
  const mentions = counted.map((k) => `len(string_split(_tags_lower, ${sqlString(k)})) - 1`).join(' + ');
  const text = `nullif(nfc_normalize(trim(${tagTextSql('e.value::VARCHAR')}, '${PAD}')), '')`;
  const value = attribute === 'pi_email' ? `lower(${text})` : text;
  // Only a \u escape can write a letter of a name; a name with a quote, slash, backslash or
  // control character in it has shorter escapes too. (An export that writes every / as \/ would
  // otherwise have each of its texts parsed.)
  const shortEscape = (c: string) => c === '"' || c === '\\' || c === '/' || c.charCodeAt(0) < 0x20;
  const escaped = wanted.some((k) => [...k].some(shortEscape)) ? `contains(_tags_raw, '\\')` : `contains(_tags_raw, '\\u')`;
  return `CASE WHEN ${mentions} >= 2 OR ${escaped} THEN len(list_distinct(list_transform(${entriesSql(config, attribute)},
      e -> ${value}))) > 1 ELSE false END`;
}

/** The text a value's JSON holds: a string decoded, anything else as the JSON reader writes it (a number as 1000.0 for 1e3). */
export function tagTextSql(json: string): string {
  return `CASE WHEN starts_with(${json}, '"') THEN json_extract_string(${json}, '$') ELSE ${json} END`;
}

/**
 * The value is no text to bill by: an object, array or boolean, or a number with a fraction or an
 * exponent. The JSON reader writes such a number again its own way (1.10 as 1.1, 1e3 as 1000.0),
 * so the code billed would not be the one in the export. A whole number (JSON has no leading
 * zeros) reads back as written, however many digits it has.
 */
export function tagNotTextSql(json: string): string {
  return `CASE WHEN ${json} IS NULL OR starts_with(${json}, '"') THEN false ELSE NOT regexp_full_match(${json}, '-?[0-9]+') END`;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
