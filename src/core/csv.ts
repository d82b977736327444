/** RFC 4180 quoting: a field with a comma, a quote or a line break is quoted, its quotes doubled. */
export function quoteCsv(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * The separator a header is written with instead of commas, named ('semicolons'), when read with
 * commas it is one column and split by that separator its names (trimmed, unquoted, lower case)
 * are what `fits` wants: a spreadsheet set to a language that writes decimal commas saves CSV
 * with semicolons.
 */
export function otherSeparator(header: string, fits: (names: string[]) => boolean): string | undefined {
  const separators: [string, string][] = [
    [';', 'semicolons'],
    ['\t', 'tabs'],
    ['|', 'vertical bars'],
  ];
  for (const [char, name] of separators) {
    const parts = header.split(char).map((p) =>
      p
        .trim()
        .replace(/^"(.*)"$/, '$1')
        .toLowerCase(),
    );
    if (parts.length > 1 && fits(parts)) return name;
  }
  return undefined;
}

/** What to do about a table saved with another separator (see otherSeparator); an export is exported again instead. */
export const OTHER_SEPARATOR_HINT =
  'save it again as comma-separated CSV (a spreadsheet set to a language that writes decimal commas saves semicolons, and its numbers would need points too)';
