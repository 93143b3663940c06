// Runs every compiled test file with Node's own test runner.
// `node scripts/test.mjs unit` runs only tests under dist/test/unit; default runs all.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const suites = process.argv.slice(2);
const roots = (suites.length ? suites : ['unit', 'integration']).map((s) => join('dist/test', s));

function collect(dir, out) {
  let names;
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) collect(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = roots.flatMap((r) => collect(r, []));
if (files.length === 0) {
  console.error('no test files found under', roots.join(', '));
  process.exit(1);
}
const args = ['--test', '--test-reporter=spec', '--test-concurrency=1', ...files];
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
