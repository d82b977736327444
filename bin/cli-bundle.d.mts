/** The prebuilt CLI bundle (see cli-bundle.mjs). */
export function freshBundle(root?: string): string | null;
export function buildBundle(root?: string): Promise<number>;
