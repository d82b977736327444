/**
 * One storage path however it is written: Qumulo lists /projects/x/, accounts.yaml says
 * /projects/x, and a script that joins "$root/$dir" writes /projects//x. Reports, accounts.yaml
 * globs and rates.yaml globs are all read through it, so each matches the others. An address's
 * `s3://` keeps its two slashes, and `/` stays the root.
 */
export function pathSpelling(path: string): string {
  return path.replace(/(?<!^[A-Za-z][A-Za-z0-9+.-]*:)\/{2,}/g, '/').replace(/(.)\/+$/, '$1');
}
