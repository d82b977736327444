/**
 * Whether this machine has a font for every character a statement prints beyond Latin: Chromium
 * prints one it lacks as an empty box, in every PDF, without a word. Asked of fontconfig
 * (`fc-list`, every font's charset), as Chromium asks it on Linux; where there is no fc-list (macOS,
 * Windows, which have fonts for most scripts) nothing is known, and nothing is said.
 */
import { execFile } from 'node:child_process';

/** A text with a character past Latin and its extensions (most have none, and are looked at no further). */
const BEYOND_LATIN = /[\u0300-\u{10ffff}]/u;

const fcList = (args: string[]): Promise<string | null> =>
  new Promise((done) => {
    // Each font's charset, as ranges: a machine with every CJK face has some megabytes of them.
    execFile('fc-list', args, { timeout: 15_000, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 }, (error, stdout) =>
      done(error ? null : stdout),
    );
  });

export interface FontCoverage {
  /** Characters beyond Latin in the texts (letters and digits). */
  wanted: number;
  /** Those no font here has, in the order found. */
  missing: string[];
}

/** The characters of `texts` that no font here has, or null when fontconfig is not here or there is nothing beyond Latin. */
export async function fontCoverage(texts: Iterable<string | undefined>): Promise<FontCoverage | null> {
  const wanted = new Set<string>();
  // Latin and its extensions are in every font; spaces and punctuation fall back well.
  for (const text of texts) {
    if (!text || !BEYOND_LATIN.test(text)) continue;
    for (const c of text.normalize('NFC')) if ((c.codePointAt(0) as number) > 0x2ff && /\p{L}|\p{N}/u.test(c)) wanted.add(c);
  }
  if (wanted.size === 0) return null;
  // One call for every font's characters (one call per character cost some 10 ms each).
  const charsets = await fcList(['--format', '%{charset}\n']);
  if (charsets === null) return null;
  const covered = coveredRanges(charsets);
  return { wanted: wanted.size, missing: [...wanted].filter((c) => !covered(c.codePointAt(0) as number)) };
}

/**
 * Whether a code point is in any of fontconfig's charsets: lines of hex code points and ranges
 * (`20-7e a0-17f 192`), one line a font.
 */
export function coveredRanges(charsets: string): (codePoint: number) => boolean {
  const ranges: [number, number][] = [];
  for (const m of charsets.matchAll(/([0-9a-f]+)(?:-([0-9a-f]+))?/gi))
    ranges.push([Number.parseInt(m[1] as string, 16), Number.parseInt(m[2] ?? (m[1] as string), 16)]);
  ranges.sort((a, b) => a[0] - b[0]);
  // Merged, so that a binary search finds the one range that may hold a code point.
  const merged: [number, number][] = [];
  for (const [from, to] of ranges) {
    const last = merged[merged.length - 1];
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else merged.push([from, to]);
  }
  return (codePoint) => {
    let [lo, hi] = [0, merged.length - 1];
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [from, to] = merged[mid] as [number, number];
      if (codePoint < from) hi = mid - 1;
      else if (codePoint > to) lo = mid + 1;
      else return true;
    }
    return false;
  };
}

/** What to say of characters without a font, and what to do. */
export function missingFontsAdvice(missing: string[], where: string): { detail: string; fix: string } {
  const cjk = missing.some((c) => /\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}|\p{Script=Hangul}/u.test(c));
  return {
    detail: `no font here has ${missing.slice(0, 10).join(' ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}, from ${where}: PDFs print them as empty boxes`,
    fix: `install fonts for them (Debian: apt-get install ${cjk ? 'fonts-noto-cjk' : 'fonts-noto-core'}), then build again`,
  };
}
