import { readFileSync } from 'node:fs';

/** Set by the bundler (scripts/bundle.mjs), which moves the code away from package.json. */
declare const SWARMTS_BUNDLED_VERSION: string | undefined;

/** The package version: the bundle's, or read once from package.json (one directory above src/ and dist/). */
export const SWARMTS_VERSION: string =
  typeof SWARMTS_BUNDLED_VERSION === 'string'
    ? SWARMTS_BUNDLED_VERSION
    : (
        JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
          version: string;
        }
      ).version;
