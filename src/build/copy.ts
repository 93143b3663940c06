import { spawn, spawnSync } from 'node:child_process';
// Synchronous syscalls on purpose: a COPY of thousands of small files is bound by thread-pool
// round trips when each chmod/lchown/utimes is its own promise (12.5 s vs 1 s for 10,000 files).
import {
  createReadStream,
  constants as fsConstants,
  lstatSync as lstat,
  readdirSync as readdir,
  readlinkSync as readlink,
  type Stats,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import { cleanSourcePath, diskLinks, resolveSourcePath } from '../context/source-path.js';
import { entryType } from '../context/walk.js';
import { SlipwayError } from '../errors.js';
import { applyLayer } from '../layer/apply.js';
import type { Underlay } from '../layer/safe-path.js';
import { layeredLstat, layeredStat, resolveImagePath } from '../runtime/layered.js';
import type { CopyTarget, Ownership } from './copy-target.js';
import { hasWildcard } from './glob.js';

export type { Ownership } from './copy-target.js';

/**
 * COPY/ADD file semantics (BuildKit's file op with CopyDirContentsOnly, AllowWildcard and
 * CreateDestPath): the result is laid out as the new layer in a CopyTarget (a staging directory
 * that also becomes the snapshot, or layer entries pointing at the sources; see copy-target.ts).
 */

export interface SourceTree {
  /** Absolute host directory the source paths are relative to. */
  root: string;
  /** Context sources belong to the user running the build: Docker gives them uid/gid 0. */
  resetOwnership: boolean;
  /** Paths (relative, posix) the tree may serve; undefined = everything under root. */
  includes?: (relPath: string) => boolean;
  /** What a walk of the tree already found (the build context's), so COPY need not lstat and list it again. */
  known?: KnownTree;
}

/** What COPY needs to know of a source node: a Stats, or the context walk's record of one. */
export interface SourceStat {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  /** Only a staging directory keeps it; the context walk does not record it (mtime stands in). */
  atimeMs?: number;
  ino: number;
  dev: number;
  nlink: number;
  /** Symlinks: the target, when already read. */
  linkTarget?: string | undefined;
}

/** A node the walk found, with its path relative to the tree root. */
export interface KnownEntry extends SourceStat {
  readonly path: string;
}

export interface KnownTree {
  stat(rel: string): KnownEntry | undefined;
  /** A directory's entries (`.` for the root) in name order; undefined when the walk did not list it. */
  children(rel: string): readonly KnownEntry[] | undefined;
  /** A file's content digest, when the walk's hasher has it. */
  digest(entry: KnownEntry): string | undefined;
}

export interface CopySpec {
  /** Source words as expanded, relative to the tree root; may hold wildcards. */
  sources: string[];
  /** Destination as written after expansion. */
  dest: string;
  /** The stage's WORKDIR, against which a relative destination resolves. */
  workdir: string;
  chown?: Ownership;
  /** Maps a source mode to the copied mode (for --chmod); receives the full st_mode. */
  chmod?: (mode: number, isDir: boolean) => number;
  excludes: string[];
  parents: boolean;
  /** mtime (seconds) for directories the copy creates. */
  createdDirTime: number;
  /** Clamp copied files' mtimes to this epoch (SOURCE_DATE_EPOCH), if set. */
  clampTime?: number;
  /** Instruction name for error messages (COPY or ADD). */
  instruction: string;
  /** ADD: local tar archives (plain, gzip, bzip2, xz) are unpacked into the destination directory. */
  unpackArchives?: boolean;
}

/** The image's filesystem before this step, as the layer stack shows it (no mount needed). */
export interface ImageView {
  /** Snapshot dirs, top-most first. */
  layerDirs: string[];
  lstat(imagePath: string): Stats | undefined;
  /** Follows a symlink at the path itself, too. */
  stat(imagePath: string): Stats | undefined;
}

export function layeredView(layerDirs: string[]): ImageView {
  return {
    layerDirs,
    lstat: (p) => layeredLstat(layerDirs, p),
    stat: (p) => layeredStat(layerDirs, p),
  };
}

export type GlobMatcher = (pattern: string, name: string) => boolean;

/** Resolves the destination against WORKDIR the way Docker does, keeping a trailing slash meaningful. */
export function resolveDest(dest: string, workdir: string): { path: string; isDir: boolean } {
  // BuildKit's rule: only a trailing slash or `.` itself; `/d/.` cleans to the file `/d`.
  const isDir = dest.endsWith('/') || dest === '.' || dest === '';
  const abs = posix.isAbsolute(dest) ? dest : posix.join(workdir || '/', dest);
  return { path: posix.normalize(abs), isDir };
}

/** Matches the source words against the tree, as BuildKit's copy with AllowWildcard. */
export async function expandSources(
  tree: SourceTree,
  sources: string[],
  match: GlobMatcher,
  instruction: string,
): Promise<string[]> {
  const out: string[] = [];
  for (const raw of sources) {
    const cleaned = cleanSourcePath(raw);
    if (cleaned.startsWith('..')) {
      throw new SlipwayError(
        'BUILD',
        `${instruction} failed: forbidden path outside the build context: ${raw}`,
      );
    }
    if (!hasWildcard(cleaned)) {
      // A path through a symlinked directory (`ld/b` with `ld -> d`) is the path it leads to.
      const p = resolveSourcePath(diskLinks(tree.root), cleaned === '' ? '.' : cleaned, false);
      if (p === undefined) throw notFound(instruction, raw, tree);
      if (p !== '.' && tree.includes && !tree.includes(p) && !hasIncludedBelow(tree, p)) {
        throw notFound(instruction, raw, tree);
      }
      out.push(p);
      continue;
    }
    // A wildcard that matches nothing copies nothing (BuildKit allows empty wildcards: the way
    // to COPY a file only if it exists); a plain path that is missing is an error.
    out.push(...(await globTree(tree, cleaned, match)));
  }
  return out;
}

function hasIncludedBelow(tree: SourceTree, dir: string): boolean {
  try {
    const st = lstat(join(tree.root, dir));
    if (!st.isDirectory()) return false;
  } catch {
    return false;
  }
  const names = readdir(join(tree.root, dir));
  for (const n of names) {
    const child = `${dir}/${n}`;
    if (tree.includes?.(child) || hasIncludedBelow(tree, child)) return true;
  }
  return false;
}

function notFound(instruction: string, raw: string, tree: SourceTree): SlipwayError {
  const message = `failed to compute cache key: failed to calculate checksum of ref: "${posix.normalize(`/${raw}`)}": not found`;
  // Only the build context has a .dockerignore; a stage or image source is simply missing the path.
  if (tree.includes === undefined) return new SlipwayError('BUILD', message);
  return new SlipwayError('BUILD', message, {
    hint: `${instruction} source must exist in the build context and not be excluded by .dockerignore`,
  });
}

async function globTree(tree: SourceTree, pattern: string, match: GlobMatcher): Promise<string[]> {
  const parts = pattern.split('/');
  let current = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const base of current) {
      if (!hasWildcard(part)) {
        const p = base ? `${base}/${part}` : part;
        try {
          await lstat(join(tree.root, p));
          next.push(p);
        } catch {}
        continue;
      }
      let names: string[];
      try {
        names = (await readdir(join(tree.root, base || '.'))).sort();
      } catch {
        continue;
      }
      for (const n of names) if (match(part, n)) next.push(base ? `${base}/${n}` : n);
    }
    current = next;
  }
  return current.filter((p) => !tree.includes || tree.includes(p));
}

/**
 * Copies the sources into `target` (laid out like the image root), creating the destination and
 * its missing parents the way BuildKit does.
 */
export async function copyInto(
  spec: CopySpec,
  tree: SourceTree,
  image: ImageView,
  target: CopyTarget,
  match: GlobMatcher,
): Promise<void> {
  const sources = await expandSources(tree, spec.sources, match, spec.instruction);
  const written = resolveDest(spec.dest, spec.workdir);
  // Through the image's symlinks, as BuildKit copies: `/lib/x` lands in `/usr/lib/x` on merged-/usr
  // images, and a file copied onto a symlink replaces what the link points at.
  const dest = { ...written, path: resolveImagePath(image.layerDirs, written.path) };
  // Counted after expansion, as BuildKit does: a wildcard that matches one file copies it to the
  // destination as named (`COPY target/*.jar app.jar` writes the file app.jar).
  const multiple = sources.length > 1;
  if (multiple && !dest.isDir && !(await isDirIn(image, dest.path))) {
    throw new SlipwayError(
      'BUILD',
      `When using ${spec.instruction} with more than one source file, the destination must be a directory and end with a /`,
    );
  }
  const copier = new Copier(spec, tree, image, target, match);
  for (const named of sources) {
    // A source named through a symlink is copied as what it points at (inside the tree only).
    // Links anywhere in the path resolve inside the tree. A wildcard match that exists only through
    // a link out of it (a stage's `/ln -> /root`, listed on the host) is not in the tree: no match.
    const src = resolveSourcePath(diskLinks(tree.root), named, true);
    if (src === undefined) continue;
    const st = await lstat(join(tree.root, src));
    // BuildKit follows a source link to its end: one that leads nowhere fails the step, named or
    // matched by a wildcard (observed on dockerd 20.10: `"/nowhere" not found`).
    if (st.isSymbolicLink()) throw notFound(spec.instruction, danglingTarget(tree.root, src), tree);
    // A fifo named as a source copies nothing at all, not even the destination's parents (dockerd
    // 20.10's context transfer never sends one).
    if (specialKind(st.mode) === 'fifo') continue;
    // Hardlinks are kept within one source only: each source is its own copy in BuildKit, so
    // `COPY h1 h2 /d/` of two names of one file writes two files.
    copier.startSource();
    const rel = spec.parents ? posix.dirname(named) : '';
    if (st.isDirectory()) {
      const target = spec.parents && named !== '.' ? posix.join(dest.path, named) : dest.path;
      copier.ensureDir(target, true);
      // Only the contents are copied: the destination keeps its own metadata (or a new one's 0755).
      copier.copyDirContents(src, target, false);
    } else if (spec.unpackArchives && st.isFile() && (await isTarArchive(join(tree.root, src)))) {
      copier.ensureDir(dest.path, true);
      const into = target.hostDir(dest.path);
      if (into === undefined) throw new Error('ADD unpacks archives into a directory target only');
      await unpackArchive(join(tree.root, src), into, spec.chown, 'ADD', imageUnderlay(image, dest.path));
    } else {
      let to: string;
      if (dest.isDir || multiple || (await isDirIn(image, dest.path)) || copier.isStagedDir(dest.path)) {
        to = posix.join(dest.path, rel === '.' ? '' : rel, posix.basename(named));
      } else to = dest.path;
      copier.ensureDir(posix.dirname(to), true);
      copier.copyEntry(src, to);
    }
  }
}

/** Where a dangling source link at `rel` leads (the path BuildKit names as not found). */
function danglingTarget(root: string, rel: string): string {
  let path = rel;
  for (let hops = 0; hops < 40; hops++) {
    const st = lstat(join(root, path), { throwIfNoEntry: false });
    if (st === undefined || !st.isSymbolicLink()) break;
    const target = readlink(join(root, path));
    path = posix
      .normalize(posix.isAbsolute(target) ? target : posix.join('/', posix.dirname(path), target))
      .slice(1);
  }
  return path;
}

/**
 * What becomes of a node that is neither file, directory nor link. dockerd 20.10's context
 * transfer writes a socket as an empty regular file with the socket's permissions (its disk
 * writer creates whatever it does not know as a file) and leaves fifos out; devices are not
 * expected in a build context and are refused when named.
 */
function specialKind(mode: number): 'socket' | 'fifo' | 'device' | undefined {
  if (entryType(mode) !== 'other') return undefined;
  const fmt = mode & fsConstants.S_IFMT;
  return fmt === fsConstants.S_IFSOCK ? 'socket' : fmt === fsConstants.S_IFIFO ? 'fifo' : 'device';
}

type ArchiveKind = 'tar' | 'gzip' | 'bzip2' | 'xz';

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    return buf.subarray(0, (await fh.read(buf, 0, bytes, 0)).bytesRead);
  } finally {
    await fh.close();
  }
}

/** Recognizes what Docker's ADD unpacks by its first bytes (never by the file name). */
function kindOf(head: Buffer): ArchiveKind | undefined {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  if (head[0] === 0xfd && head.subarray(1, 6).toString('latin1') === '7zXZ\0') return 'xz';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return undefined;
}

export async function archiveKind(path: string): Promise<ArchiveKind | undefined> {
  return kindOf(await readHead(path, 512));
}

/** A checksummed tar header block, as Go's tar reader needs to accept a first member. */
function isTarHeader(block: Buffer): boolean {
  if (block.length < 512) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : (block[i] as number);
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  if (unsigned === 256) return false; // all zero: an empty archive, which has no first member
  const stored = Number.parseInt(block.toString('latin1', 148, 156).replace(/[\0 ]+/g, ''), 8);
  return stored === unsigned || stored === signed;
}

/**
 * What ADD unpacks, decided as BuildKit decides it: the (decompressed) start of the file must be
 * a tar header. A gzip of something else, or a file named .tar that is not one, is copied as is.
 */
export async function isTarArchive(path: string): Promise<boolean> {
  // Enough compressed input for the first header block, however well the archive compresses.
  const head = await readHead(path, 16 * 1024);
  const kind = kindOf(head);
  if (kind === undefined) return false;
  if (kind === 'tar') return isTarHeader(head);
  if (kind === 'gzip') {
    try {
      return isTarHeader(gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH }));
    } catch {
      return false;
    }
  }
  // bzip2/xz: Node has no codec; the tool's first bytes are enough.
  const out = spawnSync(kind, ['-dc', path], { maxBuffer: 512, stdio: ['ignore', 'pipe', 'ignore'] });
  return isTarHeader(out.stdout ?? Buffer.alloc(0));
}

/**
 * Unpacks with the layer applier, so an archive can never write outside the destination.
 * `what` names the archive's role in errors (ADD's source, or a build context read from stdin).
 */
export async function unpackArchive(
  archive: string,
  targetDir: string,
  chown: Ownership | undefined,
  what = 'ADD',
  underlay?: Underlay,
): Promise<void> {
  const kind = await archiveKind(archive);
  let input: Readable = createReadStream(archive);
  let tool: ReturnType<typeof spawn> | undefined;
  if (kind === 'bzip2' || kind === 'xz') {
    // Node has no bzip2/xz codec: Debian's tools stream it.
    tool = spawn(kind, ['-dc', archive], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Node resumes (and so drops) a child's unread stdout when it exits: start reading at once.
    input = tool.stdout!.pipe(new PassThrough());
  }
  const toolDone = tool
    ? new Promise<void>((resolve, reject) => {
        tool!.on('error', () =>
          reject(
            new SlipwayError('BUILD', `${what}: ${kind} is not installed`, {
              hint: `apt-get install ${kind === 'xz' ? 'xz-utils' : 'bzip2'}`,
            }),
          ),
        );
        tool!.on('close', (code) =>
          code === 0 ? resolve() : reject(new SlipwayError('BUILD', `${what}: cannot decompress ${archive}`)),
        );
      })
    : Promise.resolve();
  const apply = applyLayer(input, targetDir, {
    sameOwner: true,
    literalWhiteouts: true,
    ...(chown ? { chown } : {}),
    ...(underlay ? { underlay } : {}),
  });
  await Promise.all([apply, toolDone]);
}

/**
 * The image below an archive unpacked at `base` (an image path), as the unpacker sees it: links
 * to directories that stay below `base` are followed, existing directories are copied up.
 */
function imageUnderlay(image: ImageView, base: string): Underlay {
  return (rel) => {
    const path = posix.join(base, rel);
    const st = image.lstat(path);
    if (st?.isDirectory()) {
      return { dir: { mode: st.mode, uid: st.uid, gid: st.gid, atime: st.atime, mtime: st.mtime } };
    }
    if (!st?.isSymbolicLink() || !image.stat(path)?.isDirectory()) return undefined;
    const to = posix.relative(base, resolveImagePath(image.layerDirs, path));
    return to === '' || to.startsWith('../') || to === '..' ? undefined : { linkTo: to };
  };
}

/**
 * Creates a directory of a layer being staged: one the image already has keeps its mode, owner
 * and times (it is only there as a parent); a new one is 0755, owned by `owner`, dated `time`.
 */
export function stageDirectory(
  target: CopyTarget,
  path: string,
  existing: Stats | undefined,
  owner: Ownership,
  time: number,
): void {
  target.mkdir(path, existing !== undefined);
  if (existing) {
    target.setMeta(
      path,
      { mode: existing.mode, uid: existing.uid, gid: existing.gid, mtime: existing.mtimeMs / 1000 },
      existing.atimeMs / 1000,
    );
  } else {
    target.setMeta(path, { mode: 0o755, uid: owner.uid, gid: owner.gid, mtime: time }, time);
  }
}

async function isDirIn(image: ImageView, imagePath: string): Promise<boolean> {
  return image.stat(imagePath)?.isDirectory() ?? false;
}

const ROOT_OWNER: Readonly<Ownership> = { uid: 0, gid: 0 };

/** A listed fifo or device is left out of a directory's copy; a socket is copied (as a file). */
function skippedInDir(mode: number): boolean {
  const kind = specialKind(mode);
  return kind === 'fifo' || kind === 'device';
}

class Copier {
  private readonly stagedDirs = new Set<string>(['/']);
  /** Staged dirs the image does not have: nothing below one can be in the image either. */
  private readonly newDirs = new Set<string>();
  private readonly hardlinks = new Map<string, string>();

  constructor(
    private readonly spec: CopySpec,
    private readonly tree: SourceTree,
    private readonly image: ImageView,
    private readonly target: CopyTarget,
    private readonly match: GlobMatcher,
  ) {}

  isStagedDir(p: string): boolean {
    return this.stagedDirs.has(p);
  }

  /** Creates `dir` and its parents in staging; existing image dirs keep their metadata. */
  ensureDir(dir: string, createdByCopy: boolean): void {
    if (this.stagedDirs.has(dir)) return;
    this.ensureDir(posix.dirname(dir), createdByCopy);
    const existing = this.inImage(dir);
    if (existing && !existing.isDirectory()) {
      throw new SlipwayError(
        'BUILD',
        `${this.spec.instruction} failed: cannot copy to ${dir}: not a directory`,
      );
    }
    if (existing === undefined) this.newDirs.add(dir);
    stageDirectory(
      this.target,
      dir,
      existing,
      this.spec.chown ?? { uid: 0, gid: 0 },
      this.spec.createdDirTime,
    );
    this.stagedDirs.add(dir);
  }

  private sourceStat(rel: string): SourceStat {
    return this.tree.known?.stat(rel) ?? lstat(join(this.tree.root, rel));
  }

  /**
   * The image's node at `path`. A `COPY . /new` of 10,000 files would otherwise look each of them
   * up through every layer of the image, though none can be below a directory the image lacks.
   */
  private inImage(path: string): Stats | undefined {
    return this.newDirs.has(posix.dirname(path)) ? undefined : this.image.lstat(path);
  }

  /** A new source: hardlinks are matched up within one source only. */
  startSource(): void {
    this.hardlinks.clear();
  }

  /**
   * `targetDir` is absolute and normalized; names from a listing hold no slash. Fifos and devices
   * met on the way are left out, as BuildKit leaves out a fifo (a git fsmonitor socket in `.git`
   * must not fail `COPY . .`); a socket becomes an empty file (see specialKind).
   *
   * Depth-first with a stack of its own, in the order recursion would take: a context 2000
   * directories deep overflowed Node's call stack ("Maximum call stack size exceeded").
   */
  copyDirContents(srcDir: string, targetDir: string, withMeta = true): void {
    const stack = [{ srcDir, targetDir, withMeta, entries: this.children(srcDir), next: 0 }];
    while (stack.length > 0) {
      const dir = stack[stack.length - 1]!;
      const entry = dir.entries[dir.next++];
      if (entry === undefined) {
        stack.pop();
        if (dir.withMeta) this.finishDir(dir.srcDir, dir.targetDir);
        continue;
      }
      const to = `${dir.targetDir === '/' ? '' : dir.targetDir}/${entry.name}`;
      if (entryType(entry.st.mode) !== 'dir') {
        this.copyEntry(entry.src, to, entry.from, entry.st);
        continue;
      }
      this.enterDir(to);
      stack.push({
        srcDir: entry.src,
        targetDir: to,
        withMeta: true,
        entries: this.children(entry.src),
        next: 0,
      });
    }
  }

  /** What `srcDir` holds that a copy takes, in copy order. */
  private children(srcDir: string): Array<{ src: string; name: string; from: string; st: SourceStat }> {
    const hostDir = join(this.tree.root, srcDir);
    const out: Array<{ src: string; name: string; from: string; st: SourceStat }> = [];
    const known = this.tree.known?.children(srcDir);
    if (known !== undefined) {
      // What the walk listed is what the tree serves: no lookups by path.
      const cut = srcDir === '.' ? 0 : srcDir.length + 1;
      for (const entry of known) {
        if (this.spec.excludes.length > 0 && this.excluded(entry.path)) continue;
        if (skippedInDir(entry.mode)) continue;
        const name = entry.path.slice(cut);
        out.push({ src: entry.path, name, from: `${hostDir}/${name}`, st: entry });
      }
      return out;
    }
    for (const name of readdir(hostDir).sort()) {
      const src = srcDir === '.' ? name : `${srcDir}/${name}`;
      if (this.tree.includes && !this.tree.includes(src)) {
        const st = lstat(join(this.tree.root, src));
        if (!st.isDirectory() || !hasIncludedBelow(this.tree, src)) continue;
      }
      if (this.spec.excludes.length > 0 && this.excluded(src)) continue;
      const st = this.sourceStat(src);
      if (skippedInDir(st.mode)) continue;
      out.push({ src, name, from: `${hostDir}/${name}`, st });
    }
    return out;
  }

  private excluded(src: string): boolean {
    return this.spec.excludes.some((pattern) => {
      const parts = src.split('/');
      for (let i = 1; i <= parts.length; i++)
        if (this.match(pattern, parts.slice(0, i).join('/'))) return true;
      return false;
    });
  }

  /** Applies the source dir's metadata to its copy once its children are written (children bump mtime). */
  private finishDir(srcDir: string, targetDir: string): void {
    const st = this.sourceStat(srcDir);
    const owner = this.owner(st.uid, st.gid);
    this.target.setMeta(
      targetDir,
      { mode: this.mode(st.mode, true), ...owner, mtime: this.clamp(st.mtimeMs / 1000) },
      (st.atimeMs ?? st.mtimeMs) / 1000,
    );
  }

  /** Stages the copy of a source directory at `to`, which may be one of the image's directories. */
  private enterDir(to: string): void {
    if (this.stagedDirs.has(to)) return;
    const existing = this.inImage(to);
    if (existing && !existing.isDirectory()) {
      throw new SlipwayError('BUILD', `${this.spec.instruction} failed: cannot copy to non-directory: ${to}`);
    }
    if (existing === undefined) this.newDirs.add(to);
    this.target.mkdir(to);
    this.stagedDirs.add(to);
  }

  copyEntry(src: string, to: string, from = join(this.tree.root, src), st = this.sourceStat(src)): void {
    const owner = this.owner(st.uid, st.gid);
    const mtime = this.clamp(st.mtimeMs / 1000);
    const type = entryType(st.mode);
    // BuildKit copies into the image's tree and never replaces a node of the other kind: a
    // directory onto the image's `/lib -> usr/lib` (merged /usr) would otherwise hide all of
    // /usr/lib behind a directory holding only the copied files.
    if (type === 'dir') {
      this.enterDir(to);
      this.copyDirContents(src, to);
      return;
    }
    if (this.stagedDirs.has(to) || this.inImage(to)?.isDirectory()) {
      throw new SlipwayError(
        'BUILD',
        `${this.spec.instruction} failed: cannot replace to directory ${to} with file`,
      );
    }
    this.target.remove(to);
    if (type === 'symlink') {
      this.target.symlink(to, st.linkTarget ?? readlink(from), owner, mtime);
    } else if (type === 'file') {
      const inode = st.nlink > 1 ? `${st.dev}:${st.ino}` : undefined;
      const first = inode === undefined ? undefined : this.hardlinks.get(inode);
      if (first !== undefined) {
        this.target.link(to, first);
      } else {
        this.target.copyFile(
          to,
          from,
          st.size,
          { mode: this.mode(st.mode, false), uid: owner.uid, gid: owner.gid, mtime },
          (st.atimeMs ?? st.mtimeMs) / 1000,
          this.tree.known?.digest(st as KnownEntry),
        );
        if (inode !== undefined) this.hardlinks.set(inode, to);
      }
    } else if (specialKind(st.mode) === 'socket') {
      const meta = { mode: this.mode(st.mode, false), uid: owner.uid, gid: owner.gid, mtime };
      this.target.copyFile(to, '/dev/null', 0, meta, (st.atimeMs ?? st.mtimeMs) / 1000);
    } else {
      throw new SlipwayError(
        'BUILD',
        `${this.spec.instruction} failed: ${src} is a device file and cannot be copied`,
      );
    }
  }

  private mode(mode: number, isDir: boolean): number {
    return this.spec.chmod ? this.spec.chmod(mode, isDir) & 0o7777 : mode & 0o7777;
  }

  private owner(uid: number, gid: number): Ownership {
    if (this.spec.chown) return this.spec.chown;
    return this.tree.resetOwnership ? ROOT_OWNER : { uid, gid };
  }

  private clamp(seconds: number): number {
    const t = Math.floor(seconds);
    return this.spec.clampTime !== undefined && t > this.spec.clampTime ? this.spec.clampTime : seconds;
  }
}
