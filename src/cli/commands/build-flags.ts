import { type Command, Option } from 'commander';
import { SlipwayError } from '../../errors.js';
import { collect } from '../flags.js';

/**
 * `docker build` flags that dockerd 20.10's BuildKit takes and then ignores (resource limits, the
 * classic builder's container clean-up, context compression). A Docker user's scripts pass them,
 * so slipway accepts them too, hidden from --help as docker hides them with BuildKit on, and only
 * checks their values as docker's flag parsing does: the result of the build does not change.
 */
export function addIgnoredBuildFlags(cmd: Command): Command {
  const hidden = (flags: string, parse?: (v: string, prev: string[]) => string[]) => {
    const o = new Option(flags).hideHelp();
    if (parse) o.argParser(parse).default([]);
    cmd.addOption(o);
  };
  for (const flag of ['--rm', '--force-rm', '--compress', '--stream', '--disable-content-trust'])
    hidden(flag);
  for (const flag of ['--cpu-period <int>', '--cpu-quota <int>', '-c, --cpu-shares <int>']) hidden(flag);
  for (const flag of ['--cpuset-cpus <cpus>', '--cpuset-mems <mems>', '--cgroup-parent <parent>']) {
    hidden(flag);
  }
  for (const flag of ['-m, --memory <bytes>', '--memory-swap <bytes>', '--shm-size <bytes>']) hidden(flag);
  hidden('--ulimit <ulimit>', collect);
  hidden('--isolation <isolation>');
  // Refused by docker itself (below), so refused here rather than reported as unknown.
  hidden('--squash');
  hidden('--security-opt <opt>', collect);
  return cmd;
}

/** What the ignored flags parsed to, as commander names them. */
export interface IgnoredBuildFlags {
  cpuPeriod?: string;
  cpuQuota?: string;
  cpuShares?: string;
  memory?: string;
  memorySwap?: string;
  shmSize?: string;
  ulimit?: string[];
  isolation?: string;
  squash?: boolean;
  securityOpt?: string[];
}

/** pflag's sentence for a value its parser refused, which docker prints and exits 125 for. */
function badValue(value: string, flag: string, why: string): SlipwayError {
  return new SlipwayError('USAGE', `invalid argument "${value}" for "${flag}" flag: ${why}`, {
    hint: "See 'slipway build --help'.",
  });
}

// go-units RAMInBytes: a number, then an optional k/m/g/t/p unit, `i` and `b`.
const SIZE = /^\d+(\.\d+)*\s?[kmgtp]?i?b?$/i;

// go-units ParseUlimit's names.
const ULIMITS = new Set([
  'as',
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
]);

function ulimitError(text: string): string | undefined {
  const parts = text.split('=');
  if (parts.length !== 2) return `invalid ulimit argument: ${text}`;
  if (!ULIMITS.has(parts[0]!)) return `invalid ulimit type: ${parts[0]}`;
  const limits = parts[1]!.split(':');
  if (limits.length > 2) {
    return `too many limit value arguments - ${parts[1]}, can only have up to two, \`soft[:hard]\``;
  }
  for (const l of limits) {
    if (!/^-?\d+$/.test(l)) return `strconv.ParseInt: parsing "${l}": invalid syntax`;
  }
  if (limits.length === 2 && Number(limits[0]) > Number(limits[1])) {
    return `ulimit soft limit must be less than or equal to hard limit: ${limits[0]} > ${limits[1]}`;
  }
  return undefined;
}

/**
 * Checks the ignored flags' values as docker does before the build, and refuses the ones docker
 * refuses against a non-experimental Linux daemon, in its words.
 */
export function checkIgnoredBuildFlags(o: IgnoredBuildFlags): void {
  const ints: Array<[string | undefined, string]> = [
    [o.cpuPeriod, '--cpu-period'],
    [o.cpuQuota, '--cpu-quota'],
    [o.cpuShares, '-c, --cpu-shares'],
  ];
  for (const [value, flag] of ints) {
    if (value !== undefined && !/^[-+]?\d+$/.test(value)) {
      throw badValue(value, flag, `strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
    }
  }
  const sizes: Array<[string | undefined, string]> = [
    [o.memory, '-m, --memory'],
    [o.shmSize, '--shm-size'],
  ];
  // --memory-swap alone also takes -1 (unlimited swap).
  if (o.memorySwap !== '-1') sizes.push([o.memorySwap, '--memory-swap']);
  for (const [value, flag] of sizes) {
    if (value !== undefined && !SIZE.test(value)) throw badValue(value, flag, `invalid size: '${value}'`);
  }
  for (const u of o.ulimit ?? []) {
    const why = ulimitError(u);
    if (why !== undefined) throw badValue(u, '--ulimit', why);
  }
  if (o.isolation !== undefined && !['', 'default'].includes(o.isolation.toLowerCase())) {
    throw new SlipwayError('UNSUPPORTED', `Unsupported isolation: ${JSON.stringify(o.isolation)}`);
  }
  if (o.squash) {
    throw new SlipwayError(
      'UNSUPPORTED',
      '"--squash" is not supported: docker takes it only from an experimental daemon',
    );
  }
  if (o.securityOpt?.length) {
    throw new SlipwayError('UNSUPPORTED', '--security-opt is not supported on build (docker refuses it too)');
  }
}

/** docker 20.10's `--progress` values; slipway adds buildx's quiet and rawjson. */
export function checkProgressFlag(value: string): void {
  if (!['auto', 'plain', 'tty', 'quiet', 'rawjson'].includes(value)) {
    throw new SlipwayError(
      'UNSUPPORTED',
      `invalid value "${value}" passed to --progress, valid values are: auto, plain, tty, quiet, rawjson`,
    );
  }
}

/** `--network` as dockerd 20.10's BuildKit takes it: default (or empty), host or none. */
export function parseNetworkFlag(value: string): 'default' | 'host' | 'none' {
  if (value === '' || value === 'default') return 'default';
  if (value === 'host' || value === 'none') return value;
  throw new SlipwayError('UNSUPPORTED', `network mode ${JSON.stringify(value)} not supported by buildkit`);
}

const IGNORED_BOOLS =
  /^--(rm|force-rm|compress|stream|disable-content-trust)=(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/;

/**
 * `--rm=false` and the like: pflag lets a boolean flag take a value, commander does not. The
 * ignored booleans change nothing either way, so their `=value` (one pflag's ParseBool takes) goes.
 */
export function dropIgnoredBoolValues(args: readonly string[]): string[] {
  return args.map((a) => {
    const m = IGNORED_BOOLS.exec(a);
    return m ? `--${m[1]}` : a;
  });
}

/**
 * `--ssh`: slipway's RUN --mount=type=ssh forwards $SSH_AUTH_SOCK, which is what `--ssh default`
 * names; other ids, sockets and key files are refused rather than silently replaced by the agent.
 */
export function checkSshFlag(specs: readonly string[], env: NodeJS.ProcessEnv = process.env): void {
  for (const spec of specs) {
    if (spec !== 'default') {
      throw new SlipwayError(
        'UNSUPPORTED',
        `--ssh ${spec} is not supported yet: only --ssh default (the agent at $SSH_AUTH_SOCK)`,
      );
    }
    if (!env.SSH_AUTH_SOCK) {
      throw new SlipwayError(
        'BUILD',
        `could not parse ssh: [${spec}]: invalid empty ssh agent socket, make sure SSH_AUTH_SOCK is set`,
      );
    }
  }
}
