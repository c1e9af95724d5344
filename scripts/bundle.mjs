#!/usr/bin/env node
/**
 * Bundles the compiled CLI and agent (dist/cli/main.js, from tsc) into dist/bundle/swarmts.js,
 * the file `swarmts` runs. Why: an agent built from ~1,500 small ES modules (libp2p is most of
 * them) keeps each one's source, module record and scope data in memory; one minified bundle
 * holds the same code in far less (docs/benchmarks.md, Cluster: about 9 MB of an idle worker's
 * RSS). Code loaded with import() (the manager's modules, the agent from the CLI, the Compose
 * loader) stays in chunks of its own, loaded only by the processes that need it.
 *
 * Stack traces name minified functions: dist/bundle/*.map maps them back; run the agent with
 * NODE_OPTIONS=--enable-source-maps to have Node apply it (docs/operations.md).
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = resolve(root, 'dist/bundle');
const { version } = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));

/**
 * docker-modem requires ssh2 at load time, for `ssh://` engines only; ssh2 loads two native
 * addons and a WebAssembly module. swarmts takes unix:// and tcp:// engines only, so this
 * stand-in is never constructed; should ssh:// ever be allowed, it loads the real ssh2 then.
 */
const lazySsh2 = {
  name: 'lazy-ssh2',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^ssh2$/ }, (args) =>
      args.namespace === 'lazy-ssh2'
        ? { path: 'ssh2', external: true }
        : { path: 'ssh2', namespace: 'lazy-ssh2' },
    );
    pluginBuild.onLoad({ filter: /.*/, namespace: 'lazy-ssh2' }, () => ({
      contents: `
        let ssh2;
        class Client {
          constructor(...args) {
            ssh2 ??= require('ssh2');
            return new ssh2.Client(...args);
          }
        }
        module.exports = { Client };
      `,
      loader: 'js',
    }));
  },
};

await rm(outdir, { recursive: true, force: true });
// Promise.withResolvers for Node 20 (src/polyfill.ts) in a file of its own, imported first by
// every output file (see the banner): an ES module's imports run before its body, so inlined
// into the entry it would run after the shared chunks had loaded.
await build({
  entryPoints: { polyfill: resolve(root, 'dist/polyfill.js') },
  outdir,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  logLevel: 'warning',
});
await build({
  entryPoints: { swarmts: resolve(root, 'dist/cli/main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minify: true,
  sourcemap: 'linked',
  // Licence texts go to a file beside the bundle, not into the code the agent keeps in memory.
  legalComments: 'external',
  // Native addons are loaded from node_modules at run time, as without the bundle.
  external: ['classic-level', 'msgpackr-extract', 'cpu-features'],
  define: { SWARMTS_BUNDLED_VERSION: JSON.stringify(version) },
  // The polyfill first; then a require() for CommonJS dependencies (dockerode, pino…), which an
  // ES module lacks. (Their __dirname, used only by dockerode's BuildKit and grpc-js's admin
  // code, is out of swarmts's reach and stays undefined.)
  banner: {
    js: "import './polyfill.js'; import { createRequire as __swarmtsCreateRequire } from 'node:module'; const require = __swarmtsCreateRequire(import.meta.url);",
  },
  plugins: [lazySsh2],
  logLevel: 'warning',
});
