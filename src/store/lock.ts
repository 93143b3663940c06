import { readFileSync } from 'node:fs';
import { link, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../errors.js';
import { isErrno, isProcessAlive, tempName } from './fsutil.js';

/**
 * Cross-process mutex on a lock file, without native addons (Node has no flock).
 *
 * Acquire = create `<path>` exclusively (temp + link) holding `{pid, start, host}`. A holder that died
 * leaves the file behind; it is stale when, on this host, the PID is gone or now belongs to a process with a different start
 * time (PID reuse; start time is field 22 of /proc/<pid>/stat). Breaking a stale lock is serialized by a
 * second exclusive file `<path>.break`, held only for the re-read + unlink, so two waiters can never both
 * break the same lock and then remove each other's fresh lock. A `.break` file older than
 * BREAK_STALE_MS is itself stale (its owner died inside that tiny window).
 *
 * Within one process the lock is also an async mutex: our own PID is always alive, so a second acquire
 * waits for the first release.
 */

interface LockOwner {
  pid: number;
  start?: string;
  host: string;
}

const BREAK_STALE_MS = 10_000;

function procStart(pid: number): string | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parens; fields after the last ')' are fixed.
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return rest[19];
  } catch {
    return undefined;
  }
}

const selfOwner: LockOwner = { pid: process.pid, host: hostname() };
const selfStart = procStart(process.pid);
if (selfStart !== undefined) selfOwner.start = selfStart;

function isStale(owner: LockOwner | undefined): boolean {
  if (owner === undefined) return false; // unreadable/half-written: the creator is still writing it
  if (owner.host !== selfOwner.host) return false; // cannot judge another machine's PIDs
  if (!isProcessAlive(owner.pid)) return true;
  if (owner.pid === process.pid) return false;
  if (owner.start !== undefined) {
    const now = procStart(owner.pid);
    if (now !== undefined && now !== owner.start) return true;
  }
  return false;
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(path, 'utf8')) as LockOwner;
    return typeof o.pid === 'number' ? o : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Create `path` holding `content` unless it exists. Written in full under a temp name, then linked
 * (link(2) fails on EEXIST like O_EXCL): the lock file never exists empty, so a creator killed
 * mid-write leaves only its temp (removed by the next Store.open), not a lock whose owner nobody can
 * read and that everyone must wait BREAK_STALE_MS out.
 */
async function tryCreate(path: string, content: string): Promise<boolean> {
  const tmp = join(dirname(path), tempName(`.${basename(path)}`));
  try {
    await writeFile(tmp, content, { flag: 'wx', mode: 0o644 });
    await link(tmp, path);
    return true;
  } catch (e) {
    if (isErrno(e, 'EEXIST')) return false;
    throw new SlipwayError('STORE', `cannot create lock file ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

/** Remove `path` if it is (still) held by a dead process. */
async function breakIfStale(path: string): Promise<void> {
  const owner = await readOwner(path);
  if (!isStale(owner)) {
    if (owner === undefined) {
      // Unreadable: a foreign file, or one from a slipway that created locks with O_EXCL and died
      // between open and write.
      const st = await stat(path).catch(() => undefined);
      if (st === undefined || Date.now() - st.mtimeMs < BREAK_STALE_MS) return;
    } else return;
  }
  const breaker = `${path}.break`;
  if (!(await tryCreate(breaker, JSON.stringify(selfOwner)))) {
    const st = await stat(breaker).catch(() => undefined);
    if (st !== undefined && Date.now() - st.mtimeMs > BREAK_STALE_MS) await unlink(breaker).catch(() => {});
    return;
  }
  try {
    // Re-check under the breaker: another waiter may have broken it and taken a fresh lock since.
    const again = await readOwner(path);
    const same =
      again === undefined
        ? owner === undefined
        : owner !== undefined && again.pid === owner.pid && isStale(again);
    if (same) await unlink(path).catch(() => {});
  } finally {
    await unlink(breaker).catch(() => {});
  }
}

export class FileLock {
  private released = false;
  private constructor(readonly path: string) {}

  static async acquire(path: string, opts: { timeoutMs?: number } = {}): Promise<FileLock> {
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const deadline = Date.now() + timeoutMs;
    const content = JSON.stringify(selfOwner);
    let delay = 1;
    for (;;) {
      if (await tryCreate(path, content)) return new FileLock(path);
      await breakIfStale(path);
      if (Date.now() > deadline) {
        const owner = await readOwner(path);
        throw new SlipwayError('STORE', `timed out waiting for lock ${path}`, {
          hint: owner ? `held by pid ${owner.pid}` : 'lock holder unknown',
        });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 25);
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await unlink(this.path).catch(() => {});
  }
}

export async function withLock<T>(
  path: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  const lock = await FileLock.acquire(path, opts);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
