/** The compiled CLI (see cli-bundle.mjs). */
export function compiledCli(root?: string): { url: string; problem?: undefined } | { problem: string; url?: undefined };
export function buildBundle(root?: string): Promise<number>;
