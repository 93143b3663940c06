import { isAbsolute, posix } from 'node:path';
import { SlipwayError } from '../errors.js';
import { resolveCapabilities } from './capabilities.js';
import { defaultUlimits, toOciRlimits, type Ulimit } from './rlimits.js';
import type { OciMount, OciNamespace, OciRuntimeSpec } from './spec-types.js';

/** `host` shares our network namespace (Docker/BuildKit default for builds); `none` gets a fresh one with only lo. */
export type NetworkMode = 'host' | 'none' | { netnsPath: string };

export type ExtraMount =
  | { type: 'bind'; source: string; destination: string; readonly?: boolean }
  | { type: 'tmpfs'; destination: string; sizeBytes?: number; mode?: number };

/** Host files bind-mounted read-only over the container's own; they never reach the upper dir. */
export interface EtcFiles {
  resolvConf?: string;
  hosts?: string;
  hostname?: string;
}

export interface SpecOptions {
  /** Host path of the container's root filesystem (usually an overlay mount point). */
  rootfs: string;
  args: string[];
  env?: string[];
  /** Absolute path inside the container; default `/`. */
  cwd?: string;
  user?: { uid: number; gid: number; additionalGids?: number[] };
  /** BuildKit names its RUN sandboxes `buildkitsandbox`; `docker run` uses the container id prefix. */
  hostname?: string;
  network?: NetworkMode;
  mounts?: ExtraMount[];
  etcFiles?: EtcFiles;
  /** Replaces the default (nofile=1048576 clamped to our hard limit). Clamped as well. */
  ulimits?: Ulimit[];
  capAdd?: string[];
  capDrop?: string[];
  readonlyRootfs?: boolean;
  /** Docker mounts /sys/fs/cgroup read-only; BuildKit does not. Off by default (it also costs time on cgroup v1). */
  cgroupMount?: boolean;
  /** cgroupfs path for the container; runc's default is `/<id>`. */
  cgroupsPath?: string;
  /** runc allocates a pseudo-terminal in the container's own devpts (`docker run -t`). */
  terminal?: boolean;
}

export const DEFAULT_HOSTNAME = 'buildkitsandbox';

/** containerd's defaults, which Docker and BuildKit both ship. */
export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
  '/proc/scsi',
];

export const READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/** BuildKit's GetMounts: the kernel filesystems every RUN sees. */
export function systemMounts(cgroupMount = false): OciMount[] {
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
  ];
  if (cgroupMount) {
    mounts.push({
      destination: '/sys/fs/cgroup',
      type: 'cgroup',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    });
  }
  return mounts;
}

const SYSTEM_DESTINATIONS = new Set(systemMounts(true).map((m) => m.destination));

function containerPath(p: string, what: string): string {
  if (!p.startsWith('/')) throw new SlipwayError('RUNTIME', `${what} must be an absolute path: ${p}`);
  return posix.normalize(p);
}

function hostPath(p: string, what: string): string {
  if (!isAbsolute(p)) throw new SlipwayError('RUNTIME', `${what} must be an absolute host path: ${p}`);
  return p;
}

function extraMount(m: ExtraMount): OciMount {
  const destination = containerPath(m.destination, 'mount target');
  if (m.type === 'bind') {
    return {
      destination,
      type: 'bind',
      source: hostPath(m.source, 'bind mount source'),
      options: ['rbind', m.readonly ? 'ro' : 'rw'],
    };
  }
  const options = ['nosuid', 'nodev'];
  if (m.sizeBytes !== undefined) options.push(`size=${m.sizeBytes}`);
  if (m.mode !== undefined) options.push(`mode=${m.mode.toString(8)}`);
  return { destination, type: 'tmpfs', source: 'tmpfs', options };
}

/** BuildKit's read-only bind for injected /etc files. */
function etcBind(source: string, destination: string): OciMount {
  return {
    destination,
    type: 'bind',
    source: hostPath(source, `source of ${destination}`),
    options: ['nosuid', 'noexec', 'nodev', 'rbind', 'ro'],
  };
}

/** Later mounts on the same destination win, as in BuildKit's dedupMounts. */
function dedupMounts(mounts: OciMount[]): OciMount[] {
  const last = new Map<string, number>();
  for (const [i, m] of mounts.entries()) last.set(m.destination, i);
  return mounts.filter((m, i) => last.get(m.destination) === i);
}

function namespaces(network: NetworkMode): OciNamespace[] {
  const ns: OciNamespace[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (network === 'none') ns.push({ type: 'network' });
  else if (typeof network === 'object')
    ns.push({ type: 'network', path: hostPath(network.netnsPath, 'netns') });
  return ns;
}

/** A Docker/BuildKit-like runc config for one process in `rootfs`. */
export function generateSpec(opts: SpecOptions): OciRuntimeSpec {
  if (opts.args.length === 0) throw new SlipwayError('RUNTIME', 'no command specified');
  const caps = resolveCapabilities(opts.capAdd, opts.capDrop);
  const mounts: OciMount[] = [...systemMounts(opts.cgroupMount)];
  const etc = opts.etcFiles ?? {};
  if (etc.resolvConf !== undefined) mounts.push(etcBind(etc.resolvConf, '/etc/resolv.conf'));
  if (etc.hosts !== undefined) mounts.push(etcBind(etc.hosts, '/etc/hosts'));
  if (etc.hostname !== undefined) mounts.push(etcBind(etc.hostname, '/etc/hostname'));
  // Parents before children, whatever order the caller listed them in.
  const extra = (opts.mounts ?? []).map(extraMount);
  extra.sort((a, b) => depth(a.destination) - depth(b.destination));
  mounts.push(...extra);

  const user = opts.user ?? { uid: 0, gid: 0 };
  const spec: OciRuntimeSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: opts.terminal ?? false,
      user: {
        uid: user.uid,
        gid: user.gid,
        ...(user.additionalGids?.length ? { additionalGids: [...user.additionalGids] } : {}),
      },
      args: [...opts.args],
      env: [...(opts.env ?? [])],
      cwd: containerPath(opts.cwd ?? '/', 'working directory'),
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: toOciRlimits(opts.ulimits ?? defaultUlimits()),
      noNewPrivileges: false,
    },
    root: { path: hostPath(opts.rootfs, 'rootfs'), readonly: opts.readonlyRootfs ?? false },
    hostname: opts.hostname ?? DEFAULT_HOSTNAME,
    mounts: dedupMounts(mounts),
    linux: {
      namespaces: namespaces(opts.network ?? 'host'),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
      // Deny every device; runc still allows its default set (null, zero, full, tty, random, urandom, ptmx).
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      ...(opts.cgroupsPath !== undefined ? { cgroupsPath: opts.cgroupsPath } : {}),
    },
  };
  return spec;
}

function depth(p: string): number {
  return p === '/' ? 0 : p.split('/').length - 1;
}

/**
 * Container paths runc may have to create as mount points in the rootfs (so in the upper dir):
 * BuildKit's MountStubsCleaner list — /etc/resolv.conf and /etc/hosts always, plus every
 * non-system mount target. The kernel-filesystem targets (/proc, /dev, /sys) are not stubs
 * in BuildKit either.
 */
export function mountStubCandidates(spec: OciRuntimeSpec): string[] {
  const out = new Set(['/etc/resolv.conf', '/etc/hosts']);
  for (const m of spec.mounts) {
    if (!SYSTEM_DESTINATIONS.has(m.destination)) out.add(m.destination);
  }
  return [...out];
}

const RLIM_INFINITY_MARK = '"__slipway_rlim_infinity__"';

/** JSON for config.json; RLIM_INFINITY (2^64-1) has no exact JS number, so it is written literally. */
export function serializeSpec(spec: OciRuntimeSpec): string {
  const json = JSON.stringify(spec, (_k, v: unknown) =>
    v === Number.POSITIVE_INFINITY ? JSON.parse(RLIM_INFINITY_MARK) : v,
  );
  return json.replaceAll(RLIM_INFINITY_MARK, '18446744073709551615');
}
