import { readFileSync } from 'node:fs';
import { SlipwayError } from '../errors.js';

/** Docker's (and containerd's, hence BuildKit's) default capability set. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Index = capability number (linux/capability.h). */
const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** Capabilities in our own bounding set: a container can never get more than these. */
export function hostCapabilities(statusText = readFileSync('/proc/self/status', 'utf8')): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(statusText);
  if (!m?.[1]) return [...ALL_CAPABILITIES];
  const mask = BigInt(`0x${m[1]}`);
  return ALL_CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

function normalize(name: string): string {
  const upper = name.toUpperCase();
  if (upper === 'ALL') return upper;
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!ALL_CAPABILITIES.includes(full)) throw new SlipwayError('USAGE', `unknown capability: "${name}"`);
  return full;
}

/**
 * Docker's TweakCapabilities order: start from the defaults (or everything for "ALL"), add, then drop.
 * Capabilities we do not hold ourselves are left out: runc would fail to grant them.
 */
export function resolveCapabilities(
  capAdd: readonly string[] = [],
  capDrop: readonly string[] = [],
): string[] {
  const host = hostCapabilities();
  const add = capAdd.map(normalize);
  const drop = capDrop.map(normalize);
  let caps = add.includes('ALL') ? [...host] : [...DEFAULT_CAPABILITIES, ...add.filter((c) => c !== 'ALL')];
  if (drop.includes('ALL')) caps = add.filter((c) => c !== 'ALL');
  else caps = caps.filter((c) => !drop.includes(c));
  return [...new Set(caps)].filter((c) => host.includes(c));
}
