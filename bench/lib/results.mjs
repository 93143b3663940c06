#!/usr/bin/env node
// Replaces (or appends) one section of bench/RESULTS.md with markdown read from stdin.
// Usage: some-command | node bench/lib/results.mjs SECTION [RESULTS_FILE]
// A section is delimited by `<!-- bench:SECTION -->` and `<!-- /bench:SECTION -->`, so each benchmark
// script rewrites only its own part and the others' numbers stay.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [section, file = join(dirname(fileURLToPath(import.meta.url)), '..', 'RESULTS.md')] =
  process.argv.slice(2);
if (!section || !/^[\w-]+$/.test(section)) {
  console.error('usage: results.mjs SECTION [FILE] < markdown');
  process.exit(2);
}
const body = readFileSync(0, 'utf8').trimEnd();
const open = `<!-- bench:${section} -->`;
const close = `<!-- /bench:${section} -->`;
const block = `${open}\n${body}\n${close}`;
const header =
  '# slipway benchmark results\n\nWritten by the scripts in bench/ (each rewrites only its own section; re-run one to refresh it).\n';
let text = existsSync(file) ? readFileSync(file, 'utf8') : header;
const a = text.indexOf(open);
const b = text.indexOf(close);
if (a >= 0 && b > a) text = text.slice(0, a) + block + text.slice(b + close.length);
else text = `${text.trimEnd()}\n\n${block}\n`;
writeFileSync(`${file}.tmp`, text);
renameSync(`${file}.tmp`, file);
// `npm run lint` checks bench/ with biome, markdown included: leave the file as its formatter would.
const biome = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin', 'biome');
if (existsSync(biome)) spawnSync(biome, ['format', '--write', file], { stdio: 'ignore' });
console.error(`updated section '${section}' of ${file}`);
