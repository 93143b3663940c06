#!/usr/bin/env node
// Summarises a V8 .cpuprofile (from `node --cpu-prof`): top functions by self time and by inclusive
// time, with file:line, so a profile can be read without Chrome DevTools.
// Usage: node bench/lib/cpuprofile-summary.mjs FILE.cpuprofile [TOP=25]
import { readFileSync } from 'node:fs';

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: cpuprofile-summary.mjs FILE.cpuprofile [TOP]');
  process.exit(2);
}
const top = Number(topArg ?? 25);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// sample counts -> microseconds, using the time deltas V8 recorded
const selfUs = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
const totalUs = prof.endTime - prof.startTime;
const short = (url) => url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
// esbuild bundles mark each source file with a `// src/x.ts` line: name that file for bundle frames
// (read now, so summarise right after profiling, before the bundle is rebuilt).
const sections = new Map();
function sourceOf(url, line) {
  if (!/\/dist\/cli\/[^/]+\.js$/.test(url)) return '';
  if (!sections.has(url)) {
    const marks = [];
    try {
      readFileSync(new URL(url), 'utf8')
        .split('\n')
        .forEach((l, i) => {
          const m = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(l);
          if (m) marks.push([i, m[1]]);
        });
    } catch {}
    sections.set(url, marks);
  }
  let src = '';
  for (const [i, name] of sections.get(url)) if (i <= line) src = name;
  return src ? ` [${src}]` : '';
}
const key = (n) => {
  const f = n.callFrame;
  const where = f.url ? `${short(f.url)}:${f.lineNumber + 1}${sourceOf(f.url, f.lineNumber)}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};

const self = new Map();
const incl = new Map();
for (const [id, us] of selfUs) {
  const n = byId.get(id);
  self.set(key(n), (self.get(key(n)) ?? 0) + us);
  // inclusive: count each distinct frame key once per sample stack
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur));
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + us);
  }
}
const fmt = (us) =>
  `${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)}%`;
const print = (title, m) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${fmt(us)}  ${k}`);
};
console.log(`profile ${file}: ${(totalUs / 1000).toFixed(1)} ms sampled`);
print('self time', self);
print('inclusive time', incl);
