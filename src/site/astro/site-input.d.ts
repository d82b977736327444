declare module 'virtual:openchargeback/site-input' {
  /** The site model JSON written by `focus-billing build` (null outside a build). */
  export const modelPath: string | null;
  /** The billing repository's periods/ folder (notes.mdx files). */
  export const periodsDir: string;
}
