import { readFileSync } from 'node:fs';
import { SlipwayError } from '../errors.js';
import type { OciRlimit } from './spec-types.js';

/** `Infinity` stands for RLIM_INFINITY; the spec serializer writes it as 2^64-1. */
export interface Ulimit {
  name: string;
  soft: number;
  hard: number;
}

/** Docker's `--ulimit` names → the kernel resource, and the row title in /proc/<pid>/limits. */
const RESOURCES: Record<string, { rlimit: string; title: string }> = {
  as: { rlimit: 'RLIMIT_AS', title: 'Max address space' },
  core: { rlimit: 'RLIMIT_CORE', title: 'Max core file size' },
  cpu: { rlimit: 'RLIMIT_CPU', title: 'Max cpu time' },
  data: { rlimit: 'RLIMIT_DATA', title: 'Max data size' },
  fsize: { rlimit: 'RLIMIT_FSIZE', title: 'Max file size' },
  locks: { rlimit: 'RLIMIT_LOCKS', title: 'Max file locks' },
  memlock: { rlimit: 'RLIMIT_MEMLOCK', title: 'Max locked memory' },
  msgqueue: { rlimit: 'RLIMIT_MSGQUEUE', title: 'Max msgqueue size' },
  nice: { rlimit: 'RLIMIT_NICE', title: 'Max nice priority' },
  nofile: { rlimit: 'RLIMIT_NOFILE', title: 'Max open files' },
  nproc: { rlimit: 'RLIMIT_NPROC', title: 'Max processes' },
  rss: { rlimit: 'RLIMIT_RSS', title: 'Max resident set' },
  rtprio: { rlimit: 'RLIMIT_RTPRIO', title: 'Max realtime priority' },
  rttime: { rlimit: 'RLIMIT_RTTIME', title: 'Max realtime timeout' },
  sigpending: { rlimit: 'RLIMIT_SIGPENDING', title: 'Max pending signals' },
  stack: { rlimit: 'RLIMIT_STACK', title: 'Max stack size' },
};

/** Docker containers get nofile=1048576 from dockerd; we match that unless the host caps it lower. */
export const DEFAULT_NOFILE = 1048576;

/** Parse the text of /proc/<pid>/limits into hard limits keyed by RLIMIT_* name. */
export function parseProcLimits(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [, { rlimit, title }] of Object.entries(RESOURCES)) {
    const line = text.split('\n').find((l) => l.startsWith(`${title} `));
    if (line === undefined) continue;
    const fields = line.slice(title.length).trim().split(/\s+/);
    const hard = fields[1];
    if (hard === undefined) continue;
    out.set(rlimit, hard === 'unlimited' ? Number.POSITIVE_INFINITY : Number(hard));
  }
  return out;
}

let cachedHard: Map<string, number> | undefined;

/**
 * Our own hard limits: without CAP_SYS_RESOURCE runc cannot raise a hard limit above them,
 * so every rlimit we ask for is clamped to these.
 */
export function currentHardLimits(): Map<string, number> {
  cachedHard ??= parseProcLimits(readFileSync('/proc/self/limits', 'utf8'));
  return cachedHard;
}

/** Docker's `--ulimit name=soft[:hard]` syntax (-1 = unlimited). */
export function parseUlimit(text: string): Ulimit {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new SlipwayError('USAGE', `invalid ulimit argument: ${text}`);
  const name = text.slice(0, eq);
  if (RESOURCES[name] === undefined) throw new SlipwayError('USAGE', `invalid ulimit type: ${name}`);
  const parts = text.slice(eq + 1).split(':');
  if (parts.length > 2)
    throw new SlipwayError('USAGE', `too many limit value arguments - ${text.slice(eq + 1)}`);
  const nums = parts.map((p) => {
    if (!/^-?\d+$/.test(p)) throw new SlipwayError('USAGE', `invalid ulimit argument: ${text}`);
    const n = Number(p);
    return n === -1 ? Number.POSITIVE_INFINITY : n;
  });
  const soft = nums[0] ?? 0;
  const hard = nums[1] ?? soft;
  if (soft > hard) {
    throw new SlipwayError(
      'USAGE',
      `ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`,
    );
  }
  return { name, soft, hard };
}

/** Turn Docker-style ulimits into OCI rlimits, clamped so runc never needs CAP_SYS_RESOURCE. */
export function toOciRlimits(ulimits: readonly Ulimit[], hardLimits = currentHardLimits()): OciRlimit[] {
  return ulimits.map((u) => {
    const res = RESOURCES[u.name];
    if (res === undefined) throw new SlipwayError('USAGE', `invalid ulimit type: ${u.name}`);
    const cap = hardLimits.get(res.rlimit) ?? Number.POSITIVE_INFINITY;
    const hard = Math.min(u.hard, cap);
    return { type: res.rlimit, soft: Math.min(u.soft, hard), hard };
  });
}

/** The rlimits a RUN gets when the user asked for none: Docker's nofile, within our means. */
export function defaultUlimits(hardLimits = currentHardLimits()): Ulimit[] {
  const nofile = Math.min(DEFAULT_NOFILE, hardLimits.get('RLIMIT_NOFILE') ?? DEFAULT_NOFILE);
  return [{ name: 'nofile', soft: nofile, hard: nofile }];
}
