#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS SLIPWAY_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node --
'use strict';
// Node parses every certificate in NODE_EXTRA_CA_CERTS while it starts (a distribution's bundle:
// ~50 ms, more than the rest of a no-op rebuild), yet only registry and ADD connections need them.
// The shebang starts Node without the variable and hands the file on as SLIPWAY_EXTRA_CA_CERTS;
// slipway adds those CAs to the connections that verify TLS (registry/http.ts), and child
// processes see the user's environment again. The `--` ends Node's own options: Node 20 otherwise
// takes a `--env-file FILE` meant for `run`/`exec` as its own and dies when FILE is missing.
if (process.env.SLIPWAY_EXTRA_CA_CERTS) process.env.NODE_EXTRA_CA_CERTS = process.env.SLIPWAY_EXTRA_CA_CERTS;
// Runs the bundled CLI (dist/cli/main.cjs) through V8's code cache. Node 20 has no compile cache of
// its own, and compiling the bundle was ~35 ms of every start. One cache per command, written after
// that command's first successful run, holds the functions that command compiled. The cache's name
// carries the bundle's size and mtime and Node's version because V8 checks a cache only against the
// source's length: a cache from another bundle must never be offered.
const vm = require('node:vm');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');

const bundle = path.join(__dirname, '..', 'dist', 'cli', 'main.cjs');
let source;
try {
  source = fs.readFileSync(bundle, 'utf8');
} catch {
  process.stderr.write(`ERROR: ${bundle} is missing: run \`npm run build\` in ${path.dirname(__dirname)}\n`);
  process.exit(1);
}
const cacheDir = path.join(__dirname, '..', 'dist', 'cli', 'code-cache');
const cacheFile = path.join(cacheDir, `${commandOf(process.argv.slice(2))}-${bundleStamp()}.bin`);

let cachedData;
try {
  cachedData = fs.readFileSync(cacheFile);
} catch {}
const script = new vm.Script(Module.wrap(source), { filename: bundle, cachedData });
if (cachedData === undefined || script.cachedDataRejected) process.once('exit', saveCache);

const mod = new Module(bundle, module);
mod.filename = bundle;
mod.paths = Module._nodeModulePaths(path.dirname(bundle));
script
  .runInThisContext()
  .call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));

/** The command word, skipping the global flags; anything odd shares one cache. */
function commandOf(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--root') i++;
    else if (!a.startsWith('-')) return /^[a-z]{2,10}$/.test(a) ? a : 'other';
  }
  return 'other';
}

function bundleStamp() {
  const st = fs.statSync(bundle);
  return `${st.size}-${Math.trunc(st.mtimeMs)}-${process.version}-${process.arch}`;
}

// Only a run that succeeded writes, so a mistyped command never leaves a cache behind. A read-only
// install simply runs without one.
function saveCache(code) {
  if (code !== 0) return;
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, script.createCachedData());
    fs.renameSync(tmp, cacheFile);
  } catch {}
}
