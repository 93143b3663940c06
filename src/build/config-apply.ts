import { posix } from 'node:path';
import { formatGoDuration } from '../dockerfile/duration.js';
import type { Command } from '../dockerfile/instructions/types.js';
import { SlipwayError } from '../errors.js';
import type { ContainerConfig, Healthcheck } from '../image/types.js';
import { goList, goQuoteList, goSetMap } from './history.js';

/** Per-stage facts BuildKit tracks beside the config while dispatching. */
export interface StageFlags {
  /** CMD was set in this stage: a later ENTRYPOINT must not reset it. */
  cmdSet: boolean;
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** The words a CMD/ENTRYPOINT/RUN executes, wrapped in the stage's SHELL for the shell form. */
export function withShell(config: ContainerConfig, cmdLine: string[], prependShell: boolean): string[] {
  if (!prependShell) return [...cmdLine];
  const shell = config.Shell?.length ? config.Shell : DEFAULT_SHELL;
  // The shell form is one command string, empty for a bare `CMD`: BuildKit keeps it (`sh -c ""`).
  return [...shell, ...(cmdLine.length === 0 ? [''] : cmdLine)];
}

/** Resolves WORKDIR as BuildKit does: relative paths join the previous WORKDIR. */
export function resolveWorkdir(current: string | undefined, path: string): string {
  if (posix.isAbsolute(path)) return posix.normalize(path);
  // A relative WORKDIR is joined as Go's path.Join does: cleaned, with no trailing slash.
  const joined = posix.join(current || '/', path);
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}

/**
 * Applies an expanded metadata instruction to the container config, returning the history
 * `created_by` text BuildKit writes for it. Returns undefined for instructions that are not
 * config-only (RUN, COPY, ADD, WORKDIR's directory creation is the engine's).
 *
 * A map field (Labels, ExposedPorts, Volumes) is copied before it is changed, since the config is
 * usually a shallow copy of one still in use. `owned` names maps only this config holds: those are
 * changed in place, and the copies made here join it. Without that, n LABELs copy O(n²) entries
 * (10k LABELs: a minute).
 */
export function applyConfig(
  config: ContainerConfig,
  cmd: Command,
  flags: StageFlags,
  env: { configEnv: string[] },
  owned?: WeakSet<object>,
): { createdBy: string; author?: string } | undefined {
  const writable = <T extends Record<string, unknown>>(map: T | null | undefined): T => {
    if (map && owned?.has(map)) return map;
    const copy = { ...map } as T;
    owned?.add(copy);
    return copy;
  };
  switch (cmd.kind) {
    case 'env':
      config.Env = env.configEnv;
      return { createdBy: `ENV ${cmd.env.map((kv) => `${kv.key}=${kv.value}`).join(' ')}` };
    case 'label':
      config.Labels = writable(config.Labels);
      for (const kv of cmd.labels) config.Labels[kv.key] = kv.value;
      return { createdBy: `LABEL ${cmd.labels.map((kv) => `${kv.key}=${kv.value}`).join(' ')}` };
    case 'maintainer':
      return { createdBy: `MAINTAINER ${cmd.maintainer}`, author: cmd.maintainer };
    case 'expose': {
      const ports = cmd.exposedPorts ?? [];
      config.ExposedPorts = writable(config.ExposedPorts);
      for (const p of ports) config.ExposedPorts[p] = {};
      return { createdBy: `EXPOSE ${goSetMap(ports)}` };
    }
    case 'cmd': {
      const args = withShell(config, cmd.cmdLine, cmd.prependShell);
      // Like ENTRYPOINT []: BuildKit's config omits an empty Cmd (omitempty), so `CMD []` clears
      // an inherited one and inspect shows null, not [].
      config.Cmd = cmd.cmdLine.length === 0 && !cmd.prependShell ? null : args;
      flags.cmdSet = true;
      // BuildKit marks every CMD's args as escaped (a Windows-only hint Docker keeps on Linux too).
      config.ArgsEscaped = true;
      return { createdBy: `CMD ${goQuoteList(args)}` };
    }
    case 'entrypoint': {
      const args = withShell(config, cmd.cmdLine, cmd.prependShell);
      config.Entrypoint = cmd.cmdLine.length === 0 && !cmd.prependShell ? null : args;
      if (!flags.cmdSet) config.Cmd = null;
      return { createdBy: `ENTRYPOINT ${goQuoteList(args)}` };
    }
    case 'volume':
      config.Volumes = writable(config.Volumes);
      for (const v of cmd.volumes) config.Volumes[v] = {};
      return { createdBy: `VOLUME ${goList(cmd.volumes)}` };
    case 'user':
      config.User = cmd.user;
      return { createdBy: `USER ${cmd.user}` };
    case 'arg':
      return {
        createdBy: `ARG ${cmd.args.map((a) => (a.value === undefined ? a.key : `${a.key}=${a.value}`)).join(' ')}`,
      };
    case 'onbuild':
      config.OnBuild = [...(config.OnBuild ?? []), cmd.expression];
      return { createdBy: `ONBUILD ${cmd.expression}` };
    case 'stopsignal':
      checkSignal(cmd.signal);
      config.StopSignal = cmd.signal;
      return { createdBy: `STOPSIGNAL ${cmd.signal}` };
    case 'healthcheck': {
      const h = cmd.health;
      const hc: Healthcheck = { Test: h.test };
      if (h.interval) hc.Interval = Number(h.interval);
      if (h.timeout) hc.Timeout = Number(h.timeout);
      if (h.startPeriod) hc.StartPeriod = Number(h.startPeriod);
      if (h.startInterval) hc.StartInterval = Number(h.startInterval);
      if (h.retries) hc.Retries = h.retries;
      config.Healthcheck = hc;
      return { createdBy: `HEALTHCHECK ${healthText(h.test, hc)}` };
    }
    case 'shell':
      config.Shell = [...cmd.shell];
      return { createdBy: `SHELL ${goList(cmd.shell)}` };
    default:
      return undefined;
  }
}

/** Go's %v of *container.HealthConfig, which BuildKit prints into history. */
function healthText(test: string[], hc: Healthcheck): string {
  const dur = (ns: number | undefined) => formatGoDuration(BigInt(ns ?? 0));
  // BuildKit 20.10's HealthConfig has no StartInterval, so its text lists three durations.
  const durations = [hc.Interval, hc.Timeout, hc.StartPeriod].map((d) => `"${dur(d)}"`);
  const retries = hc.Retries ?? 0;
  const retriesRune =
    retries < 0x20 ? `'\\x${retries.toString(16).padStart(2, '0')}'` : `'${String.fromCharCode(retries)}'`;
  return `&{${goQuoteList(test)} ${durations.join(' ')} ${retriesRune}}`;
}

// moby's signal.SignalMap (Linux): names without the SIG prefix.
const SIGNAL_NAMES = new Set([
  ...'ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ RTMIN RTMAX'.split(
    ' ',
  ),
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/** STOPSIGNAL takes what moby's signal.ParseSignal takes: a non-zero number or a known name. */
function checkSignal(signal: string): void {
  const ok = /^[0-9]+$/.test(signal)
    ? Number(signal) !== 0
    : SIGNAL_NAMES.has(signal.toUpperCase().replace(/^SIG/, ''));
  if (!ok) throw new SlipwayError('INSTRUCTION', `Invalid signal: ${signal}`);
}
