// Bundles the CLI into one CommonJS file, dist/cli/main.cjs, that bin/slipway.js loads through V8's
// code cache (Node 20 has no compile cache of its own; compiling the bundle was ~35 ms of every
// start). Each command's modules stay behind lazy initialisers, so a command runs only its own
// top-level code.
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

// Node builtins that cost milliseconds to load and that most commands never touch (commander alone
// requires child_process, which pulls in net and dgram): each becomes an object of getters that
// loads the real module on first use. The names are this Node's, the one that runs the bundle.
const LAZY_BUILTINS = ['child_process', 'zlib', 'net', 'dgram', 'http', 'https', 'tls', 'readline'];
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(b) {
    const filter = new RegExp(`^(node:)?(${LAZY_BUILTINS.join('|')})$`);
    b.onResolve({ filter }, (args) =>
      args.namespace === 'lazy-builtin'
        ? undefined
        : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
      const names = Object.keys(createRequire(import.meta.url)(`node:${args.path}`));
      return {
        contents: `let real;
const load = () => (real ??= require('node:${args.path}'));
for (const name of ${JSON.stringify(names)}) {
  Object.defineProperty(exports, name, { get: () => load()[name], enumerable: true });
}`,
        loader: 'js',
      };
    });
  },
};

// Stale output (and code caches of an older bundle) would otherwise pile up beside the new one.
rmSync('dist/cli', { recursive: true, force: true });

// Both bundles: one self-contained CommonJS file each; `import.meta.url` (used to find files beside
// the module) becomes the bundle's own URL.
const common = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  packages: 'bundle',
  // A native addon (its .node binary is resolved at run time from node_modules).
  external: ['@lydell/node-pty'],
  minify: process.env.SLIPWAY_BUNDLE_DEBUG !== '1',
  legalComments: 'none',
  define: { 'import.meta.url': '__slipwayBundleUrl' },
  banner: { js: "var __slipwayBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
};

await build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/cli/main.cjs',
  keepNames: false,
  plugins: [lazyBuiltins],
});

// The container supervisor is a detached process that needs no CLI code: its own small bundle, so
// its start-up (on the path of every `run`) loads only what supervising needs.
await build({ ...common, entryPoints: ['src/containers/supervise.ts'], outfile: 'dist/cli/supervise.cjs' });
