// Bundles the CLI so `slipway --version` loads one small file; each command's
// modules are split into chunks loaded only when that command runs.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

// Stale chunks from an earlier bundle would otherwise pile up beside the new ones.
rmSync('dist/cli', { recursive: true, force: true });

await build({
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'bundle',
  // A native addon (its .node binary is resolved at run time from node_modules).
  external: ['@lydell/node-pty'],
  minify: process.env.SLIPWAY_BUNDLE_DEBUG !== '1',
  keepNames: false,
  legalComments: 'none',
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
});

// The container supervisor is a detached process that needs no CLI code: one self-contained
// CommonJS file, so its start-up (on the path of every `run`) loads one module, without the ESM
// loader (~10 ms less per start here).
await build({
  entryPoints: ['src/containers/supervise.ts'],
  outfile: 'dist/cli/supervise.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  packages: 'bundle',
  external: ['@lydell/node-pty'],
  minify: process.env.SLIPWAY_BUNDLE_DEBUG !== '1',
  legalComments: 'none',
  logLevel: 'warning',
});
