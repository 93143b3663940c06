/**
 * Lists a build context the way BuildKit's fsutil sends it: depth-first, each directory's entries in byte
 * order, never following symlinks. Excluded directories are skipped whole unless an exception may
 * re-include something inside; such a directory is then listed only if something below it is included.
 */
import { type Dirent, lstatSync, readdirSync, readlinkSync, type Stats, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { SlipwayError } from '../errors.js';
import type { IgnoreMatcher, ParentMatchState } from './matcher.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface ContextEntry {
  /** Relative to the context root, `/`-separated, no leading `./`. */
  readonly path: string;
  readonly type: EntryType;
  /** Full st_mode (type bits included). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly dev: number;
  readonly nlink: number;
  /** Set for symlinks only. */
  readonly linkTarget: string | undefined;
}

export interface WalkOptions {
  signal?: AbortSignal;
}

// Give the event loop a turn this often so progress output and signals are not starved.
const YIELD_EVERY = 2048;

// st_mode file-type bits (POSIX); avoids four method calls per entry in the hot loop.
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** A full st_mode's file type. */
export function entryType(mode: number): EntryType {
  const fmt = mode & S_IFMT;
  if (fmt === S_IFREG) return 'file';
  if (fmt === S_IFDIR) return 'dir';
  if (fmt === S_IFLNK) return 'symlink';
  return 'other';
}

/** UTF-8 byte order; differs from UTF-16 code-unit order only when surrogates meet U+E000..U+FFFF. */
function sortDirents(ds: Dirent[]): void {
  if (!ds.some((d) => /[\ud800-\uffff]/.test(d.name))) {
    ds.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return;
  }
  const keys = new Map(ds.map((d) => [d, Buffer.from(d.name, 'utf8')]));
  ds.sort((a, b) => Buffer.compare(keys.get(a) as Buffer, keys.get(b) as Buffer));
}

/**
 * Node hands directory entries over as UTF-8 strings, so a name that is not valid UTF-8 comes back
 * mangled and could not be opened again: it would silently go missing from the image. Fail instead.
 */
function checkUtf8Names(abs: string, rel: string): void {
  for (const raw of readdirSync(abs, { encoding: 'buffer' })) {
    if (Buffer.from(raw.toString('utf8'), 'utf8').equals(raw)) continue;
    const shown = raw
      .toString('latin1')
      .replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
    throw new SlipwayError(
      'CONTEXT',
      `cannot send "${rel ? `${rel}/` : ''}${shown}" in the build context: its name is not valid UTF-8`,
      { hint: 'rename it, or exclude it in .dockerignore' },
    );
  }
}

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

interface Frame {
  entry: ContextEntry;
  emitted: boolean;
}

class Walker {
  readonly out: ContextEntry[] = [];
  private readonly chain: Frame[] = [];
  private sinceYield = 0;

  constructor(
    private readonly matcher: IgnoreMatcher | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {}

  private stat(abs: string, rel: string): ContextEntry | undefined {
    let st: Stats | undefined;
    try {
      // Removed while we walked: fsutil skips it too.
      st = lstatSync(abs, { throwIfNoEntry: false });
    } catch (e) {
      throw new SlipwayError('CONTEXT', `cannot stat ${rel} in build context: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (st === undefined) return undefined;
    const type = entryType(st.mode);
    let linkTarget: string | undefined;
    if (type === 'symlink') {
      try {
        linkTarget = readlinkSync(abs);
      } catch (e) {
        if (errnoCode(e) === 'ENOENT') return undefined;
        throw new SlipwayError(
          'CONTEXT',
          `cannot read link ${rel} in build context: ${(e as Error).message}`,
          {
            cause: e,
          },
        );
      }
    }
    // One object shape for every entry keeps property access monomorphic for consumers.
    return {
      path: rel,
      type,
      mode: st.mode,
      uid: st.uid,
      gid: st.gid,
      size: st.size,
      mtimeMs: st.mtimeMs,
      ino: st.ino,
      dev: st.dev,
      nlink: st.nlink,
      linkTarget,
    };
  }

  private emit(entry: ContextEntry): void {
    // An excluded directory that was walked for its exceptions appears once something inside is kept.
    for (const f of this.chain) {
      if (!f.emitted) {
        this.out.push(f.entry);
        f.emitted = true;
      }
    }
    this.out.push(entry);
  }

  async dir(abs: string, rel: string, state: ParentMatchState | undefined, excluded: boolean): Promise<void> {
    let dirents: Dirent[];
    try {
      dirents = readdirSync(abs, { withFileTypes: true });
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      // Like fsutil: an unreadable directory only matters if we were going to send it.
      if (excluded && (code === 'EACCES' || code === 'EPERM')) return;
      throw new SlipwayError(
        'CONTEXT',
        `cannot read ${rel || '.'} in build context: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    sortDirents(dirents);
    // checkUtf8Names looks at the whole directory: once is enough.
    let namesChecked = false;
    for (const d of dirents) {
      if (++this.sinceYield >= YIELD_EVERY) {
        this.sinceYield = 0;
        await new Promise<void>((r) => setImmediate(r));
        if (this.signal?.aborted) throw new SlipwayError('INTERRUPTED', 'context walk interrupted');
      }
      const name = d.name;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const childAbs = `${abs}/${name}`;
      let isDir = d.isDirectory();
      const m = this.matcher?.matchInWalk(childRel, state, isDir);
      if (m?.excluded) {
        if (!isDir || !this.matcher?.mayIncludeBelow(childRel)) continue;
        const entry = this.stat(childAbs, childRel);
        if (entry === undefined || entry.type !== 'dir') continue;
        this.chain.push({ entry, emitted: false });
        await this.dir(childAbs, childRel, m.state, true);
        this.chain.pop();
        continue;
      }
      if (!namesChecked && name.includes('\uFFFD')) {
        checkUtf8Names(abs, rel);
        namesChecked = true;
      }
      const entry = this.stat(childAbs, childRel);
      if (entry === undefined) continue;
      // The dirent type can be stale or unknown; the lstat result is what we send.
      isDir = entry.type === 'dir';
      this.emit(entry);
      if (isDir) {
        this.chain.push({ entry, emitted: true });
        await this.dir(childAbs, childRel, m?.state, false);
        this.chain.pop();
      }
    }
  }
}

/**
 * Walks `contextDir` and returns what a build may see, in fsutil's order (pre-order, names byte-sorted).
 * Pass `undefined` as matcher to keep everything.
 */
export async function walkContext(
  contextDir: string,
  matcher: IgnoreMatcher | undefined,
  opts: WalkOptions = {},
): Promise<ContextEntry[]> {
  let st: Stats;
  try {
    // The context root itself may be a symlink (docker resolves it too); nothing below it is followed.
    st = statSync(contextDir);
  } catch (e) {
    throw new SlipwayError('CONTEXT', `unable to prepare context: ${(e as Error).message}`, { cause: e });
  }
  if (!st.isDirectory()) {
    throw new SlipwayError('CONTEXT', `unable to prepare context: ${contextDir} is not a directory`);
  }
  const w = new Walker(matcher, opts.signal);
  await w.dir(resolve(contextDir), '', undefined, false);
  return w.out;
}
