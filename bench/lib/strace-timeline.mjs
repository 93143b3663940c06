#!/usr/bin/env node
// Turns `strace -f -ttt -e trace=execve,exit_group,mount,umount2,rename,renameat2 -o FILE` output into a
// timeline relative to the first event: successful execs (PATH-search misses dropped), mounts,
// exits, and renames into the store (blob, snapshot, cache record and index commits), so the phases
// of a build (runc start, the command, layer commit) can be read off. Usage: strace-timeline.mjs FILE
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: strace-timeline.mjs STRACE_OUTPUT');
  process.exit(2);
}
let t0;
const unfinished = new Map();
for (const line of readFileSync(file, 'utf8').split('\n')) {
  const m = /^(\d+)\s+(\d+\.\d+)\s+(.*)$/.exec(line);
  if (!m) continue;
  const [, pid, ts, rest0] = m;
  const t = Number(ts);
  t0 ??= t;
  let rest = rest0;
  // join "<unfinished ...>" with its "<... resumed>" half
  if (rest.endsWith('<unfinished ...>')) {
    unfinished.set(pid, rest.replace('<unfinished ...>', ''));
    continue;
  }
  const resumed = /^<\.\.\. \w+ resumed>(.*)$/.exec(rest);
  if (resumed) {
    rest = (unfinished.get(pid) ?? '') + resumed[1];
    unfinished.delete(pid);
  }
  if (/^execve\(/.test(rest) && /= -1 ENOENT/.test(rest)) continue;
  if (/^(mount|umount2)\(/.test(rest) && /= -1/.test(rest)) continue;
  if (/^(rename|renameat2)\(/.test(rest) && !/slipway|blobs|snapshots|index\.json/.test(rest)) continue;
  const short = rest
    .replace(/\/var\/tmp\/[^"]*?\/root\//g, '<root>/')
    .replace(/"[0-9a-f]{40,}"/g, '"<hash>"')
    .slice(0, 150);
  console.log(`${(t - t0).toFixed(3).padStart(8)} ${pid.padStart(7)} ${short}`);
}
