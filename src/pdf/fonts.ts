/**
 * Whether this machine has a font for every character a statement prints beyond Latin: Chromium
 * prints one it lacks as an empty box, in every PDF, without a word. Asked of fontconfig
 * (`fc-list :charset=`), as Chromium asks it on Linux; where there is no fc-list (macOS,
 * Windows, which have fonts for most scripts) nothing is known, and nothing is said.
 */
import { execFile } from 'node:child_process';

/** A text with a character past Latin and its extensions (most have none, and are looked at no further). */
const BEYOND_LATIN = /[\u0300-\u{10ffff}]/u;

/** The most characters asked about, one fc-list call each (some 10 ms). */
const MOST_ASKED = 60;

const fcList = (args: string[]): Promise<string | null> =>
  new Promise((done) => {
    execFile('fc-list', args, { timeout: 15_000, encoding: 'utf8' }, (error, stdout) => done(error ? null : stdout.trim()));
  });

export interface FontCoverage {
  /** Characters beyond Latin in the texts (letters and digits). */
  wanted: number;
  /** How many of them fontconfig was asked about (at most MOST_ASKED). */
  asked: number;
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
  if (wanted.size === 0 || (await fcList(['--version'])) === null) return null;
  const missing: string[] = [];
  const asked = [...wanted].slice(0, MOST_ASKED);
  for (const c of asked) if (!(await fcList([`:charset=${(c.codePointAt(0) as number).toString(16)}`, 'family']))) missing.push(c);
  return { wanted: wanted.size, asked: asked.length, missing };
}

/** What to say of characters without a font, and what to do. */
export function missingFontsAdvice(missing: string[], where: string): { detail: string; fix: string } {
  const cjk = missing.some((c) => /\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}|\p{Script=Hangul}/u.test(c));
  return {
    detail: `no font here has ${missing.slice(0, 10).join(' ')}${missing.length > 10 ? ` and ${missing.length - 10} more` : ''}, from ${where}: PDFs print them as empty boxes`,
    fix: `install fonts for them (Debian: apt-get install ${cjk ? 'fonts-noto-cjk' : 'fonts-noto-core'}), then build again`,
  };
}
