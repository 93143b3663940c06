import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../errors.js';
import { execCapture } from './exec.js';

export interface OverlayOptions {
  /** Read-only layers, top-most first (the order of overlayfs' `lowerdir`). May be empty (FROM scratch). */
  lowerDirs: readonly string[];
  /** Writable layer; omit both upperDir and workDir for a read-only mount. */
  upperDir?: string;
  /** Overlay's scratch dir: same filesystem as upperDir, empty, never inside the lowers. */
  workDir?: string;
  target: string;
}

/**
 * mount(2) takes the option string in one page: the kernel rejects longer data. Stay below it
 * with a margin for the `upperdir=`/`workdir=` parts we might still append.
 */
const MAX_OPTION_BYTES = 4000;
/** overlayfs' OVL_MAX_STACK. */
const MAX_LOWER_DIRS = 500;

let emptyLower: string | undefined;

/** overlayfs needs at least one lower dir; FROM scratch has none, so it gets a permanently empty one. */
function emptyLowerDir(): string {
  if (emptyLower === undefined) {
    const dir = join(tmpdir(), 'slipway-empty-lower');
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    emptyLower = dir;
  }
  return emptyLower;
}

/** Characters overlayfs or mount(8) would split or unescape inside an option value. */
function needsAlias(p: string): boolean {
  return /[,:\\=\s]/.test(p);
}

/** Our own overlay tunables, pinned so a layer differ can read the upper dir naively. */
function featureOptions(): string[] {
  const params = '/sys/module/overlay/parameters';
  const out: string[] = [];
  // index=on ties a lower dir to one upper; redirect_dir/metacopy store renames and metadata-only
  // copy-ups as xattrs a tar differ would not understand.
  if (existsSync(`${params}/index`)) out.push('index=off');
  if (existsSync(`${params}/redirect_dir`)) out.push('redirect_dir=off');
  if (existsSync(`${params}/metacopy`)) out.push('metacopy=off');
  return out;
}

/**
 * Mount an overlay with the mount(8) CLI. When the lower dir list would not fit into one page
 * (or a path holds characters overlayfs treats specially), the layers are reached through short
 * symlinks (lowers `0`…`z`, `10`… in base 36; `U`, `W`) in a temp dir and mount runs from that dir with relative paths: the
 * kernel resolves them at mount time, so the symlinks are removed right after.
 */
export async function mountOverlay(opts: OverlayOptions): Promise<void> {
  for (const p of [...opts.lowerDirs, opts.upperDir, opts.workDir, opts.target]) {
    if (p !== undefined && !isAbsolute(p))
      throw new SlipwayError('RUNTIME', `overlay path must be absolute: ${p}`);
  }
  if ((opts.upperDir === undefined) !== (opts.workDir === undefined)) {
    throw new SlipwayError('RUNTIME', 'overlay: upperDir and workDir go together');
  }
  const lowers = [...opts.lowerDirs];
  // Without an upper dir overlayfs insists on two lowers.
  const minimum = opts.upperDir === undefined ? 2 : 1;
  while (lowers.length < minimum) lowers.push(emptyLowerDir());
  if (lowers.length > MAX_LOWER_DIRS) {
    throw new SlipwayError(
      'RUNTIME',
      `overlay: ${lowers.length} layers exceed the kernel's limit of ${MAX_LOWER_DIRS}`,
    );
  }
  if (opts.workDir !== undefined) mkdirSync(opts.workDir, { recursive: true });
  if (opts.upperDir !== undefined) mkdirSync(opts.upperDir, { recursive: true });
  mkdirSync(opts.target, { recursive: true });

  const build = (l: string[], u?: string, w?: string) => {
    const parts = [`lowerdir=${l.join(':')}`];
    if (u !== undefined && w !== undefined) parts.push(`upperdir=${u}`, `workdir=${w}`);
    return [...parts, ...featureOptions()].join(',');
  };

  const all = [...lowers, opts.upperDir, opts.workDir].filter((p): p is string => p !== undefined);
  const direct = build(lowers, opts.upperDir, opts.workDir);
  if (direct.length <= MAX_OPTION_BYTES && !all.some(needsAlias)) {
    await runMount(['-t', 'overlay', 'overlay', '-o', direct, opts.target]);
    return;
  }
  const aliasDir = mkdtempSync(join(tmpdir(), 'slipway-ovl-'));
  try {
    const alias = (p: string, name: string) => {
      symlinkSync(p, join(aliasDir, name));
      return name;
    };
    const l = lowers.map((p, i) => alias(p, i.toString(36)));
    const u = opts.upperDir === undefined ? undefined : alias(opts.upperDir, 'U');
    const w = opts.workDir === undefined ? undefined : alias(opts.workDir, 'W');
    const data = build(l, u, w);
    if (data.length > MAX_OPTION_BYTES) {
      throw new SlipwayError('RUNTIME', `overlay: too many layers (${lowers.length}) for one mount`);
    }
    await runMount(['-t', 'overlay', 'overlay', '-o', data, opts.target], aliasDir);
  } finally {
    rmSync(aliasDir, { recursive: true, force: true });
  }
}

async function runMount(args: string[], cwd?: string): Promise<void> {
  let r: Awaited<ReturnType<typeof execCapture>>;
  try {
    r = await execCapture('mount', args, cwd === undefined ? {} : { cwd });
  } catch (e) {
    throw new SlipwayError('RUNTIME', `cannot run mount(8): ${(e as Error).message}`, { cause: e });
  }
  if (r.code !== 0) {
    const target = args[args.length - 1];
    throw new SlipwayError(
      'RUNTIME',
      `mounting overlay on ${target} failed: ${r.stderr.trim() || `exit ${r.code}`}`,
    );
  }
}

/** Decode the octal escapes (`\040` for space…) /proc/self/mountinfo uses in paths. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Every mount point visible to us, from /proc/self/mountinfo. */
export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => unescapeMountPath(line.split(' ')[4] ?? ''));
}

export function isMounted(target: string): boolean {
  return mountPoints().includes(target);
}

/**
 * Unmount `target` (and anything stacked on it). A no-op when nothing is mounted there.
 * A busy mount is retried briefly, then detached lazily so cleanup never wedges a build.
 */
export async function unmount(target: string): Promise<void> {
  for (let attempt = 0; isMounted(target); attempt++) {
    const r = await execCapture('umount', attempt < 5 ? [target] : ['-l', target]);
    if (r.code === 0) continue;
    if (/not mounted/.test(r.stderr)) return;
    if (attempt >= 5) {
      throw new SlipwayError(
        'RUNTIME',
        `unmounting ${target} failed: ${r.stderr.trim() || `exit ${r.code}`}`,
      );
    }
    await sleep(20 * (attempt + 1));
  }
}
