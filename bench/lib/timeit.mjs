#!/usr/bin/env node
// Whole-process wall-clock timer: runs a shell command RUNS times (after WARMUP untimed runs), each
// optionally preceded by an untimed PREPARE command, and prints one JSON line with every sample.
// Usage: node bench/lib/timeit.mjs --name N [--runs 5] [--warmup 1] [--prepare CMD] [--allow-fail] -- CMD
// The command runs as `/bin/sh -c 'exec CMD'`, stdout/stderr discarded (stderr of a failing run is
// kept for the error message). The /bin/sh start (~1 ms) is in every sample, baselines included.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';

const argv = process.argv.slice(2);
const opts = { name: 'cmd', runs: 5, warmup: 1, prepare: '', allowFail: false };
let cmd = '';
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--') {
    cmd = argv.slice(i + 1).join(' ');
    break;
  }
  if (a === '--name') opts.name = argv[++i];
  else if (a === '--runs') opts.runs = Number(argv[++i]);
  else if (a === '--warmup') opts.warmup = Number(argv[++i]);
  else if (a === '--prepare') opts.prepare = argv[++i];
  else if (a === '--allow-fail') opts.allowFail = true;
  else {
    console.error(`timeit: unknown option ${a}`);
    process.exit(2);
  }
}
if (!cmd) {
  console.error('usage: timeit.mjs --name N [--runs 5] [--warmup 1] [--prepare CMD] [--allow-fail] -- CMD');
  process.exit(2);
}

function sh(command, keepErr) {
  return spawnSync('/bin/sh', ['-c', command], {
    stdio: ['ignore', 'ignore', keepErr ? 'pipe' : 'ignore'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

function runOnce() {
  if (opts.prepare) {
    const p = sh(opts.prepare, true);
    if (p.status !== 0) throw new Error(`prepare failed (${p.status}): ${opts.prepare}\n${p.stderr}`);
  }
  const t0 = process.hrtime.bigint();
  const r = sh(`exec ${cmd}`, true);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${opts.name}: exit ${r.status ?? r.signal}: ${cmd}\n${String(r.stderr).slice(-2000)}`);
  }
  return { ms, status: r.status };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const load0 = loadavg()[0];
for (let i = 0; i < opts.warmup; i++) runOnce();
const samples = [];
const codes = [];
for (let i = 0; i < opts.runs; i++) {
  const r = runOnce();
  samples.push(Math.round(r.ms * 10) / 10);
  codes.push(r.status);
}
console.log(
  JSON.stringify({
    name: opts.name,
    command: cmd,
    prepare: opts.prepare || undefined,
    runs: opts.runs,
    warmup: opts.warmup,
    medianMs: Math.round(median(samples) * 10) / 10,
    minMs: Math.min(...samples),
    maxMs: Math.max(...samples),
    samplesMs: samples,
    exitCodes: [...new Set(codes)],
    load1: [Math.round(load0 * 100) / 100, Math.round(loadavg()[0] * 100) / 100],
  }),
);
