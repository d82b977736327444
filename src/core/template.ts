/** `{field}` templates (email subjects, journal descriptions); unknown fields stay as written. */
export function fill(template: string, fields: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => fields[name] ?? whole);
}
