import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { link, open, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Temp names carry the writer's PID so a cleaner can tell a crashed writer's leftovers (PID gone) from
 * a live writer's work in progress: `<prefix>.<pid>.<random>.tmp`.
 */
export function tempName(prefix: string): string {
  return `${prefix}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
}

const TEMP_RE = /\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/** PID of the process that created a temp file named by tempName, or undefined for other names. */
export function tempOwner(name: string): number | undefined {
  const m = TEMP_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsync a directory so a rename inside it survives power loss. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Write a file so readers see either the old or the new content, never a torn one. */
export async function atomicWriteFile(
  path: string,
  data: string | Buffer,
  opts: { durable?: boolean } = {},
): Promise<void> {
  const durable = opts.durable ?? true;
  const dir = dirname(path);
  const tmp = join(dir, tempName(`.${basename(path)}`));
  const fh = await open(tmp, 'wx', 0o644);
  try {
    try {
      await fh.writeFile(data);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  if (durable) await fsyncDir(dir);
}

export async function removeQuiet(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (e) {
    // Node names each entry by its whole path, so a tree deeper than PATH_MAX allows fails with
    // ENAMETOOLONG: a snapshot of a 2000-deep build context, once gc moved it under tmp/, stayed
    // there for good. rm(1) descends with openat and removes any depth.
    if (isErrno(e, 'ENAMETOOLONG')) {
      await promisify(execFile)('rm', ['-rf', '--', path]).catch(() => {});
    }
  }
}

export function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === code;
}

/**
 * Create `path` with full content only if it does not exist yet (temp + link(2), which fails on EEXIST),
 * so a concurrent reader never sees it empty. Returns false when it already existed.
 */
export async function atomicCreateFile(path: string, data: string | Buffer): Promise<boolean> {
  const dir = dirname(path);
  const tmp = join(dir, tempName(`.${basename(path)}`));
  const fh = await open(tmp, 'wx', 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, path);
  } catch (e) {
    if (isErrno(e, 'EEXIST')) return false;
    throw e;
  } finally {
    await unlink(tmp).catch(() => {});
  }
  await fsyncDir(dir);
  return true;
}
