// How the site model reaches the pages: an Astro integration that serves a virtual module,
// `virtual:openchargeback/site-input`, naming the model file and the periods folder of the
// billing repository being built. No environment variables, no process-wide state.
const ID = 'virtual:openchargeback/site-input';
const RESOLVED = `\0${ID}`;

/** @param {{ modelPath?: string | null, periodsDir?: string }} input */
export function siteInput({ modelPath = null, periodsDir = './periods' } = {}) {
  return {
    name: 'openchargeback-site-input',
    hooks: {
      'astro:config:setup': ({ updateConfig }) => {
        updateConfig({
          vite: {
            plugins: [
              {
                name: 'openchargeback-site-input',
                resolveId: (id) => (id === ID ? RESOLVED : undefined),
                load: (id) =>
                  id === RESOLVED
                    ? `export const modelPath = ${JSON.stringify(modelPath)};\nexport const periodsDir = ${JSON.stringify(periodsDir)};\n`
                    : undefined,
              },
            ],
          },
        });
      },
    },
  };
}
