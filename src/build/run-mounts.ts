import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { chown, cp, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { RunMount } from '../dockerfile/instructions/types.js';
import { SlipwayError } from '../errors.js';
import { mountOverlay, unmount } from '../runtime/overlay.js';
import type { ExtraMount } from '../runtime/spec.js';
import { tempName } from '../store/fsutil.js';
import { FileLock } from '../store/lock.js';
import type { SecretSource } from './flags.js';
import { hostPathInside } from '../context/source-path.js';

export interface MountContext {
  root: string;
  scratch: string;
  contextDir: string;
  secrets: ReadonlyMap<string, SecretSource>;
  /** The step's user, so a new cache dir is writable by it (pip's cache for non-root users). */
  owner: { uid: number; gid: number };
  /** The step's WORKDIR: a relative bind, cache or tmpfs target is inside it, as BuildKit mounts it. */
  cwd: string;
  /** `--no-cache`: cache mounts start empty too (as BuildKit's), and the kept caches stay as they are. */
  freshCaches: boolean;
  /** Resolves `from=` (a stage name/index or image) to a read-only directory. */
  resolveFrom(from: string): Promise<string>;
}

export interface PreparedMounts {
  mounts: ExtraMount[];
  env: string[];
  files: Array<{ path: string; content: Buffer; mode: number; uid: number; gid: number }>;
  release(): Promise<void>;
}

/** A mount's `source` inside `root`: links in it resolve inside the context or stage, never on the host. */
function mountSource(root: string, m: RunMount): string {
  const source = hostPathInside(root, m.source || '.');
  if (source === undefined) {
    throw new SlipwayError('BUILD', `failed to mount ${m.target}: ${m.source || '.'}: not found`);
  }
  return source;
}

/** Where a bind, cache or tmpfs mount goes: BuildKit's dispatchRunMounts joins a relative target to the WORKDIR. */
function mountTarget(m: RunMount, cwd: string): string {
  const target = posix.isAbsolute(m.target) ? m.target : posix.join('/', cwd, m.target);
  if (posix.normalize(target) === '/') throw new SlipwayError('BUILD', `invalid mount target "${target}"`);
  return target;
}

/** Turns RUN --mount options into runtime mounts, env and files; `release` undoes what it set up. */
export async function prepareRunMounts(
  mounts: readonly RunMount[],
  ctx: MountContext,
): Promise<PreparedMounts> {
  const out: PreparedMounts = { mounts: [], env: [], files: [], release: async () => {} };
  const cleanups: Array<() => Promise<void>> = [];
  out.release = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    for (const m of mounts) {
      switch (m.type) {
        case 'tmpfs':
          out.mounts.push({
            type: 'tmpfs',
            destination: mountTarget(m, ctx.cwd),
            ...(m.sizeLimit ? { sizeBytes: m.sizeLimit } : {}),
          });
          break;
        case 'cache': {
          const id = m.id || m.target;
          const dir = join(
            ctx.root,
            'cache',
            'mounts',
            createHash('sha256').update(id).digest('hex').slice(0, 32),
          );
          let source = dir;
          if (ctx.freshCaches) {
            source = join(ctx.scratch, tempName('cache'));
            cleanups.push(() => rm(source, { recursive: true, force: true }));
          } else if (m.sharing === 'locked') {
            // One RUN at a time (across slipway processes too) gets the cache; others wait.
            const lock = await FileLock.acquire(`${dir}.lock`, { timeoutMs: 24 * 3600_000 });
            cleanups.push(() => lock.release());
          } else if (m.sharing === 'private') {
            // A writer that finds the cache in use by another process gets a fresh directory of its own.
            const lock = await FileLock.acquire(`${dir}.lock`, { timeoutMs: 1 }).catch(() => undefined);
            if (lock) cleanups.push(() => lock.release());
            else {
              source = join(ctx.scratch, tempName('cache'));
              cleanups.push(() => rm(source, { recursive: true, force: true }));
            }
          }
          if (!existsSync(source)) {
            await mkdir(source, { recursive: true, mode: m.mode ?? 0o755 });
            // `from=` seeds a new cache with a directory of another stage or image.
            if (m.from) {
              const seed = mountSource(await ctx.resolveFrom(m.from), m);
              await cp(seed, source, { recursive: true, verbatimSymlinks: true });
            }
            await chown(source, m.uid ?? ctx.owner.uid, m.gid ?? ctx.owner.gid);
          }
          out.mounts.push({
            type: 'bind',
            source,
            destination: mountTarget(m, ctx.cwd),
            readonly: m.readOnly,
          });
          break;
        }
        case 'bind': {
          const base = m.from ? await ctx.resolveFrom(m.from) : ctx.contextDir;
          const source = mountSource(base, m);
          if (m.readOnly) {
            out.mounts.push({ type: 'bind', source, destination: mountTarget(m, ctx.cwd), readonly: true });
            break;
          }
          // A writable bind's changes are thrown away: an overlay over the source takes them.
          const scratch = join(ctx.scratch, tempName('bind'));
          const upper = join(scratch, 'upper');
          const work = join(scratch, 'work');
          const merged = join(scratch, 'merged');
          await Promise.all([
            mkdir(upper, { recursive: true }),
            mkdir(work, { recursive: true }),
            mkdir(merged, { recursive: true }),
          ]);
          cleanups.push(() => rm(scratch, { recursive: true, force: true }));
          if (statSync(source).isDirectory()) {
            await mountOverlay({ lowerDirs: [source], upperDir: upper, workDir: work, target: merged });
            cleanups.push(() => unmount(merged));
            out.mounts.push({
              type: 'bind',
              source: merged,
              destination: mountTarget(m, ctx.cwd),
              readonly: false,
            });
          } else {
            out.mounts.push({ type: 'bind', source, destination: mountTarget(m, ctx.cwd), readonly: true });
          }
          break;
        }
        case 'secret': {
          // BuildKit's dispatchSecret: `source=` names the secret as `id=` does (the parser refuses both).
          const id = m.id || m.source || posix.basename(m.target);
          const secret = ctx.secrets.get(id);
          if (!secret) {
            if (m.required)
              throw new SlipwayError('BUILD', `secret ${id} not found`, {
                hint: `pass --secret id=${id},src=FILE`,
              });
            break;
          }
          const value =
            secret.env !== undefined
              ? Buffer.from(process.env[secret.env] ?? '')
              : await readFile(secret.src!);
          if (m.env) out.env.push(`${m.env}=${value.toString('utf8')}`);
          if (!m.env || m.target) {
            out.files.push({
              path: m.target || `/run/secrets/${posix.basename(id)}`,
              content: value,
              mode: m.mode ?? 0o400,
              uid: m.uid ?? 0,
              gid: m.gid ?? 0,
            });
          }
          break;
        }
        case 'ssh': {
          const sock = process.env.SSH_AUTH_SOCK;
          if (!sock || !(await stat(sock).catch(() => undefined))) {
            if (m.required)
              throw new SlipwayError(
                'BUILD',
                'no SSH agent socket: set SSH_AUTH_SOCK or drop RUN --mount=type=ssh',
              );
            break;
          }
          const target = m.target || '/run/buildkit/ssh_agent.0';
          out.mounts.push({ type: 'bind', source: sock, destination: target, readonly: false });
          out.env.push(`SSH_AUTH_SOCK=${target}`);
          break;
        }
      }
    }
    return out;
  } catch (e) {
    await out.release();
    throw e;
  }
}
