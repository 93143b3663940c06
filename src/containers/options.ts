import { isAbsolute, posix, resolve } from 'node:path';
import { SlipwayError } from '../errors.js';
import type { ContainerConfig } from '../image/types.js';
import type { NetworkModeName } from './record.js';

/** A `-p` request before ephemeral host ports are chosen (hostPort 0 = any free port). */
export interface PublishSpec {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

/** A `-v`/`--mount` request before volumes exist on disk. */
export type MountRequest =
  | { type: 'bind'; source: string; destination: string; readonly: boolean; createSource: boolean }
  | { type: 'volume'; name?: string; destination: string; readonly: boolean; noCopy: boolean }
  | { type: 'tmpfs'; destination: string; sizeBytes?: number; mode?: number };

/** `docker run` flags as slipway keeps them (after commander). */
export interface RunFlags {
  name?: string;
  detach: boolean;
  rm: boolean;
  interactive: boolean;
  tty: boolean;
  publish: string[];
  publishAll: boolean;
  env: string[];
  envFile: string[];
  volume: string[];
  mount: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  network: string;
  hostname?: string;
  init: boolean;
  stopSignal?: string;
  stopTimeout?: number;
  label: string[];
  expose: string[];
}

function invalid(message: string): SlipwayError {
  return new SlipwayError('USAGE', message);
}

function parsePortNumber(text: string, what: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) throw invalid(`invalid ${what}: ${text}`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start < 0 || end > 65535 || end < start || (what === 'containerPort' && start === 0)) {
    throw invalid(`invalid ${what}: ${text}`);
  }
  return [start, end];
}

function parseProto(text: string | undefined): 'tcp' | 'udp' {
  const p = (text ?? 'tcp').toLowerCase();
  if (p !== 'tcp' && p !== 'udp') throw invalid(`invalid proto: ${text}`);
  return p;
}

/** Docker's nat.ParsePortSpec: `[ip:][hostPort:]containerPort[/proto]`, port ranges expanded. */
export function parsePublish(spec: string): PublishSpec[] {
  const slash = spec.lastIndexOf('/');
  const proto = parseProto(slash === -1 ? undefined : spec.slice(slash + 1));
  const rest = slash === -1 ? spec : spec.slice(0, slash);
  let ip = '';
  let hostText = '';
  let ctrText: string;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon === -1) ctrText = rest;
  else {
    ctrText = rest.slice(lastColon + 1);
    const head = rest.slice(0, lastColon);
    const hostColon = head.lastIndexOf(':');
    if (hostColon === -1) hostText = head;
    else {
      hostText = head.slice(hostColon + 1);
      ip = head.slice(0, hostColon);
    }
  }
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== '' && !/^[\d.]+$/.test(ip) && !ip.includes(':')) throw invalid(`invalid IP address: ${ip}`);
  if (ctrText === '') throw invalid(`no port specified: ${spec}<empty>`);
  const [cStart, cEnd] = parsePortNumber(ctrText, 'containerPort');
  const [hStart, hEnd] = hostText === '' ? [0, 0] : parsePortNumber(hostText, 'hostPort');
  const count = cEnd - cStart + 1;
  if (hostText !== '' && hEnd - hStart + 1 !== count && !(hStart === hEnd && count === 1)) {
    throw invalid(`invalid ranges specified for container and host Ports: ${ctrText} and ${hostText}`);
  }
  const out: PublishSpec[] = [];
  for (let i = 0; i < count; i++) {
    out.push({
      hostIp: ip === '' ? '0.0.0.0' : ip,
      hostPort: hostText === '' ? 0 : hStart + i,
      containerPort: cStart + i,
      proto,
    });
  }
  return out;
}

/** `8080/tcp` style key for a port. */
export function portKey(port: number, proto: string): string {
  return `${port}/${proto}`;
}

/** `EXPOSE`/`--expose` keys (`80`, `80/udp`, `8000-8002`) as `port/proto` strings. */
export function parseExposeKeys(spec: string): string[] {
  const slash = spec.indexOf('/');
  const proto = parseProto(slash === -1 ? undefined : spec.slice(slash + 1));
  const [a, b] = parsePortNumber(slash === -1 ? spec : spec.slice(0, slash), 'containerPort');
  const out: string[] = [];
  for (let p = a; p <= b; p++) out.push(portKey(p, proto));
  return out;
}

const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

function hostSource(p: string, cwd: string): string {
  if (isAbsolute(p)) return posix.normalize(p);
  if (p.startsWith('.')) return resolve(cwd, p);
  throw invalid(`invalid mount source: ${p}`);
}

function ctrDestination(p: string): string {
  if (!p.startsWith('/')) throw invalid(`invalid mount config: mount path must be absolute: ${p}`);
  if (posix.normalize(p) === '/') throw invalid("invalid specification: destination can't be '/'");
  return posix.normalize(p);
}

/** `-v [SRC:]DST[:OPTS]`: a bind (absolute or ./relative source), a named volume, or an anonymous volume. */
export function parseVolumeFlag(spec: string, cwd: string): MountRequest {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === ''))
    throw invalid(`invalid volume specification: '${spec}'`);
  if (parts.length === 1) {
    return { type: 'volume', destination: ctrDestination(parts[0]!), readonly: false, noCopy: false };
  }
  let src: string;
  let dst: string;
  let opts = '';
  if (parts.length === 2 && parts[1]!.startsWith('/')) [src, dst] = parts as [string, string];
  else if (parts.length === 2) {
    // `/ctr:ro`: an anonymous volume with options
    [dst, opts] = parts as [string, string];
    src = '';
  } else [src, dst, opts] = parts as [string, string, string];
  let readonly = false;
  let noCopy = false;
  for (const o of opts.split(',').filter(Boolean)) {
    if (o === 'ro') readonly = true;
    else if (o === 'rw') readonly = false;
    else if (o === 'nocopy') noCopy = true;
    else if (
      ![
        'z',
        'Z',
        'shared',
        'rshared',
        'slave',
        'rslave',
        'private',
        'rprivate',
        'delegated',
        'cached',
        'consistent',
      ].includes(o)
    ) {
      throw invalid(`invalid mode: ${o}`);
    }
  }
  const destination = ctrDestination(dst);
  if (src === '') return { type: 'volume', destination, readonly, noCopy };
  if (src.startsWith('/') || src.startsWith('.')) {
    return { type: 'bind', source: hostSource(src, cwd), destination, readonly, createSource: true };
  }
  if (!VOLUME_NAME_RE.test(src)) {
    throw invalid(
      `"${src}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
    );
  }
  return { type: 'volume', name: src, destination, readonly, noCopy };
}

function boolValue(v: string | undefined, key: string): boolean {
  if (v === undefined || ['true', '1'].includes(v.toLowerCase())) return true;
  if (['false', '0'].includes(v.toLowerCase())) return false;
  throw invalid(`invalid value for ${key}: ${v}`);
}

/** `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly][,tmpfs-size=…]`. */
export function parseMountFlag(spec: string, cwd: string): MountRequest {
  let type = 'volume';
  let source = '';
  let target = '';
  let readonly = false;
  let noCopy = false;
  let size: number | undefined;
  let mode: number | undefined;
  for (const field of spec.split(',')) {
    const eq = field.indexOf('=');
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase().trim();
    const value = eq === -1 ? undefined : field.slice(eq + 1);
    switch (key) {
      case 'type':
        type = value ?? '';
        break;
      case 'source':
      case 'src':
        source = value ?? '';
        break;
      case 'target':
      case 'destination':
      case 'dst':
        target = value ?? '';
        break;
      case 'readonly':
      case 'ro':
        readonly = boolValue(value, key);
        break;
      case 'volume-nocopy':
        noCopy = boolValue(value, key);
        break;
      case 'tmpfs-size':
        size = parseSize(value ?? '');
        break;
      case 'tmpfs-mode':
        mode = Number.parseInt(value ?? '', 8);
        if (Number.isNaN(mode)) throw invalid(`invalid value for tmpfs-mode: ${value}`);
        break;
      case 'bind-propagation':
      case 'consistency':
      case 'volume-driver':
      case 'bind-recursive':
        break;
      default:
        throw invalid(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (target === '') throw invalid(`invalid argument "${spec}" for "--mount" flag: target is required`);
  const destination = ctrDestination(target);
  if (type === 'bind') {
    if (source === '') throw invalid('invalid mount config for type "bind": field Source must not be empty');
    return { type: 'bind', source: hostSource(source, cwd), destination, readonly, createSource: false };
  }
  if (type === 'volume') {
    if (source !== '' && !VOLUME_NAME_RE.test(source)) throw invalid(`invalid volume name: ${source}`);
    return { type: 'volume', ...(source ? { name: source } : {}), destination, readonly, noCopy };
  }
  if (type === 'tmpfs') {
    if (source !== '')
      throw invalid('invalid mount config for type "tmpfs": field Source must not be specified');
    return {
      type: 'tmpfs',
      destination,
      ...(size !== undefined ? { sizeBytes: size } : {}),
      ...(mode !== undefined ? { mode } : {}),
    };
  }
  throw invalid(`invalid mount config for type "${type}": mount type unknown`);
}

/** go-units RAMInBytes: `64m`, `1g`, `512k`, plain bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(text.trim());
  if (!m) throw invalid(`invalid size: '${text}'`);
  const mult: Record<string, number> = {
    '': 1,
    k: 1024,
    m: 1024 ** 2,
    g: 1024 ** 3,
    t: 1024 ** 4,
    p: 1024 ** 5,
  };
  return Math.round(Number(m[1]) * mult[m[2]!.toLowerCase()]!);
}

/** `-e KEY=VAL` as is; a bare `-e KEY` takes the host's value, or stays bare (= unset) without one. */
export function expandEnvFlag(item: string, hostEnv: NodeJS.ProcessEnv): string {
  if (item.includes('=')) {
    if (item.startsWith('=')) throw invalid(`invalid environment variable: ${item}`);
    return item;
  }
  const v = hostEnv[item];
  return v === undefined ? item : `${item}=${v}`;
}

/** Docker's env-file: one KEY=VAL per line, `#` comments, bare KEY from the host; no quote handling. */
export function parseEnvFile(text: string, hostEnv: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+/, '').replace(/\r$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq === -1 ? line : line.slice(0, eq);
    if (/\s/.test(key)) throw invalid(`variable '${key}' contains whitespaces`);
    out.push(eq === -1 ? expandEnvFlag(key, hostEnv) : line);
  }
  return out;
}

/** moby ReplaceOrAppendEnvValues: later values replace same-named earlier ones; a bare KEY deletes. */
export function mergeEnv(base: readonly string[], overrides: readonly string[]): string[] {
  const out = [...base];
  const keyOf = (e: string) => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);
  for (const o of overrides) {
    const k = keyOf(o);
    const i = out.findIndex((e) => keyOf(e) === k);
    if (!o.includes('=')) {
      if (i !== -1) out.splice(i, 1);
      continue;
    }
    if (i === -1) out.push(o);
    else out[i] = o;
  }
  return out;
}

/**
 * Docker's Entrypoint/Cmd merge: a user entrypoint drops the image's Cmd; `--entrypoint ""` clears
 * the image's entrypoint but keeps its Cmd; a user command replaces the image's Cmd.
 */
export function resolveCommand(
  image: Pick<ContainerConfig, 'Entrypoint' | 'Cmd'>,
  entrypointFlag: string | undefined,
  userCmd: readonly string[],
): { entrypoint: string[] | null; cmd: string[] | null; argv: string[] } {
  let entrypoint: string[] | null;
  let cmd: string[] | null = userCmd.length > 0 ? [...userCmd] : null;
  if (entrypointFlag !== undefined && entrypointFlag !== '') {
    entrypoint = [entrypointFlag];
  } else {
    if (cmd === null) cmd = image.Cmd ? [...image.Cmd] : null;
    entrypoint = entrypointFlag === '' ? null : image.Entrypoint ? [...image.Entrypoint] : null;
  }
  const argv = [...(entrypoint ?? []), ...(cmd ?? [])];
  return { entrypoint, cmd, argv };
}

export function parseNetworkMode(text: string): NetworkModeName {
  if (text === 'bridge' || text === 'default' || text === '') return 'bridge';
  if (text === 'host' || text === 'none') return text;
  if (text.startsWith('container:'))
    throw new SlipwayError('UNSUPPORTED', '--network container:<name> is not supported yet');
  throw new SlipwayError('NOT_FOUND', `network ${text} not found`);
}

/** Signal names and numbers Docker accepts (`SIGTERM`, `TERM`, `15`), normalised to `SIGTERM`/number. */
const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGIOT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPOLL: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/** The signal number for a Docker-style signal argument; USAGE error when unknown. */
export function signalNumber(text: string): number {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n < 1 || n > 64) throw invalid(`Invalid signal: ${text}`);
    return n;
  }
  const up = t.toUpperCase();
  const name = up.startsWith('SIG') ? up : `SIG${up}`;
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
  if (rt) return 34 + Number(rt[1] ?? 0);
  const n = SIGNALS[name];
  if (n === undefined) throw invalid(`Invalid signal: ${text}`);
  return n;
}
