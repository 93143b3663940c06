/**
 * Apply a layer blob onto a directory: decompress (sniffed), read the tar as a stream, and create
 * each member without ever writing outside the target. Two whiteout modes:
 *
 * - delete (default): whiteouts remove the lower content they name — for flattening layers into one
 *   rootfs (export, a snapshot per image, or when overlayfs is unavailable).
 * - `overlayWhiteouts: true`: whiteouts become char 0/0 devices and opaque markers become
 *   `trusted.overlay.opaque=y`, so every layer extracts into its own empty dir and the dirs stack as
 *   overlay lowerdirs. The store should use this mode for snapshots: each layer is extracted once and
 *   shared by every image that has it, as Docker's overlay2 and containerd's overlayfs snapshotter do.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  fchmodSync,
  fchownSync,
  constants as fsc,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { lstat, realpath, unlink } from 'node:fs/promises';
import { pipeline, Readable } from 'node:stream';
import { isSlipwayError, SlipwayError } from '../errors.js';
import { decompressor, detectCompression } from './compress.js';
import { compressionOfMediaType } from './media-types.js';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './overlay-diff.js';
import {
  escapeError,
  memberComponents,
  RootResolver,
  type SymlinkPolicy,
  type Underlay,
} from './safe-path.js';
import { type TarHeader, TYPEFLAG } from './tar-header.js';
import { readTar } from './tar-reader.js';
import type { Compression } from './types.js';
import { writeXattrs, type XattrMap } from './xattr.js';

export interface ApplyOptions {
  /** Declared media type; compression is sniffed anyway, a mismatch only warns. */
  mediaType?: string;
  /** Produce an overlay lowerdir (see the module comment) instead of deleting whited-out paths. */
  overlayWhiteouts?: boolean;
  symlinkPolicy?: SymlinkPolicy;
  /** Apply uid/gid from the layer; default: when running as root. */
  sameOwner?: boolean;
  /**
   * Every member gets this owner instead of its own (ADD --chown of an archive), set before the
   * mode so setuid/setgid bits survive; directories the members imply stay root's, as BuildKit
   * leaves them.
   */
  chown?: { uid: number; gid: number };
  /**
   * An archive, not a layer (ADD): `.wh.` names are ordinary files, as BuildKit's untar (and so
   * the layer it exports) keeps them.
   */
  literalWhiteouts?: boolean;
  /** An archive unpacked onto an image (ADD): where implied parent directories really are. */
  underlay?: Underlay;
  onWarning?: (message: string) => void;
}

export interface ApplyResult {
  /** Members applied, whiteouts included. */
  entries: number;
  whiteouts: number;
  /** Bytes of the uncompressed tar stream. */
  tarSize: number;
  /** `sha256:` of the uncompressed tar — compare with the image config's rootfs.diff_ids. */
  diffId: string;
  /** `sha256:` of the bytes read from `blobStream` — compare with the manifest's layer digest. */
  digest: string;
  compression: Compression;
  warnings: string[];
}

interface Deferred {
  dirTimes: { abs: string; mtime: number }[];
  xattrs: { path: string; xattrs: XattrMap }[];
}

function runTool(cmd: string, args: string[], pkg: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new SlipwayError('LAYER', `${cmd} not found`, {
              hint: `install the Debian package "${pkg}"`,
              cause: e,
            })
          : e,
      ),
    );
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new SlipwayError('LAYER', `${cmd} failed: ${stderr.trim() || `exit ${code}`}`)),
    );
  });
}

/** Peek the first bytes to sniff the compression, then hand back a stream of all the bytes, hashed. */
async function openInput(
  blob: Readable,
  hash: ReturnType<typeof createHash>,
): Promise<{ compression: Compression; raw: AsyncGenerator<Buffer> }> {
  const it = blob[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let headLen = 0;
  let ended = false;
  while (headLen < 4) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    head.push(b);
    headLen += b.length;
  }
  const compression = detectCompression(Buffer.concat(head));
  async function* raw(): AsyncGenerator<Buffer> {
    for (const b of head) {
      hash.update(b);
      yield b;
    }
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      hash.update(b);
      yield b;
    }
  }
  return { compression, raw: raw() };
}

export async function applyLayer(
  blobStream: Readable,
  targetDir: string,
  opts: ApplyOptions = {},
): Promise<ApplyResult> {
  const warnings: string[] = [];
  const warn = (m: string): void => {
    warnings.push(m);
    opts.onWarning?.(m);
  };
  let root: string;
  try {
    root = await realpath(targetDir);
    if (!(await lstat(root)).isDirectory()) throw new Error('not a directory');
  } catch (e) {
    throw new SlipwayError('LAYER', `cannot apply layer: target ${targetDir} is not a directory`, {
      cause: e,
    });
  }
  // Into an empty directory (a snapshot), only what this apply made can be in the way of a member:
  // nothing needs an lstat first.
  const startedEmpty = readdirSync(root).length === 0;
  /** Real paths this layer created: an opaque marker must not delete its own layer's entries. */
  const unpacked = new Set<string>();
  const resolver = new RootResolver(
    root,
    opts.symlinkPolicy ?? 'reject',
    (dir) => unpacked.add(dir),
    opts.underlay,
  );
  const isRoot = process.getuid?.() === 0;
  const sameOwner = opts.sameOwner ?? isRoot;
  const overlay = opts.overlayWhiteouts === true;

  const blobHash = createHash('sha256');
  const diffHash = createHash('sha256');
  const { compression, raw } = await openInput(blobStream, blobHash);
  const declared = opts.mediaType ? compressionOfMediaType(opts.mediaType) : undefined;
  if (declared !== undefined && declared !== compression) {
    warn(
      `layer declared as ${opts.mediaType} but its data is ${compression === 'none' ? 'an uncompressed tar' : compression}`,
    );
  }
  const codec = decompressor(compression);
  let tarSize = 0;
  async function* hashed(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const b of source) {
      diffHash.update(b);
      tarSize += b.length;
      yield b;
    }
  }
  let tarSource: AsyncIterable<Buffer>;
  if (compression === 'none') {
    tarSource = hashed(raw);
  } else {
    pipeline(Readable.from(raw, { objectMode: false }), codec.stream, () => {});
    tarSource = hashed(codec.stream);
  }

  const deferred: Deferred = { dirTimes: [], xattrs: [] };
  let whiteoutTemplate: string | undefined;
  let entries = 0;
  let whiteouts = 0;

  /**
   * Removes whatever is at `abs` (never following a symlink), unless it is a dir that `keepDir`
   * allows; true when a dir was kept. The member operations are synchronous: a layer is thousands
   * of small files, and a thread-pool round trip per system call cost more than the calls.
   */
  const clearPath = (abs: string, keepDir: boolean): boolean => {
    if (startedEmpty && !unpacked.has(abs)) return false;
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (st === undefined) return false;
    if (st.isDirectory() && keepDir) return true;
    if (st.isDirectory()) rmSync(abs, { recursive: true, force: true });
    else unlinkSync(abs);
    resolver.forget();
    return false;
  };

  const ownAndTime = (abs: string, h: TarHeader, isLink: boolean): void => {
    if (sameOwner) lchownSync(abs, h.uid, h.gid);
    if (!isLink) chmodSync(abs, h.mode & 0o7777);
    if (isLink) lutimesSync(abs, h.mtime, h.mtime);
    else utimesSync(abs, h.mtime, h.mtime);
  };

  const makeWhiteout = async (abs: string): Promise<void> => {
    // One mknod for the whole layer, then hard links: overlayfs itself shares whiteout inodes this way.
    if (whiteoutTemplate === undefined) {
      const t = `${root}/.slipway-whiteout-${process.pid}-${randomBytes(4).toString('hex')}`;
      await runTool('mknod', ['-m', '000', t, 'c', '0', '0'], 'coreutils');
      whiteoutTemplate = t;
      unpacked.add(t);
    }
    linkSync(whiteoutTemplate, abs);
  };

  const handleWhiteout = async (parts: string[], name: string, member: string): Promise<void> => {
    whiteouts++;
    const base = parts[parts.length - 1]!;
    const parentParts = parts.slice(0, -1);
    if (base === WHITEOUT_OPAQUE) {
      const dir = resolver.resolveDir(parentParts, member, overlay);
      if (dir === undefined) return;
      if (overlay) {
        deferred.xattrs.push({ path: dir, xattrs: { 'trusted.overlay.opaque': Buffer.from('y') } });
        return;
      }
      for (const child of readdirSync(dir)) {
        const abs = `${dir}/${child}`;
        if (!unpacked.has(abs)) rmSync(abs, { recursive: true, force: true });
      }
      resolver.forget();
      return;
    }
    const target = base.slice(WHITEOUT_PREFIX.length);
    if (target === '' || target === '.' || target === '..') {
      throw new SlipwayError('LAYER', `invalid whiteout in layer: ${name}`);
    }
    const dir = resolver.resolveDir(parentParts, member, overlay);
    if (dir === undefined) return;
    const abs = `${dir}/${target}`;
    clearPath(abs, false);
    if (overlay) {
      await makeWhiteout(abs);
      unpacked.add(abs);
    }
  };

  const handleEntry = async (member: TarHeader, body: () => AsyncGenerator<Buffer>): Promise<void> => {
    const h = opts.chown ? { ...member, uid: opts.chown.uid, gid: opts.chown.gid } : member;
    const parts = memberComponents(h.name);
    if (parts.length === 0) return; // "./": the root's own metadata belongs to the target, not the layer
    const base = parts[parts.length - 1]!;
    if (base.startsWith(WHITEOUT_PREFIX) && !opts.literalWhiteouts)
      return handleWhiteout(parts, h.name, h.name);
    const dir = resolver.resolveDir(parts.slice(0, -1), h.name, true);
    if (dir === undefined) throw escapeError(h.name);
    const abs = `${dir}/${base}`;
    const isDir = h.typeflag === TYPEFLAG.dir;

    let hardlinkTarget: string | undefined;
    if (h.typeflag === TYPEFLAG.hardlink) {
      const tparts = memberComponents(h.linkname);
      if (tparts.length === 0) throw new SlipwayError('LAYER', `hard link ${h.name} has an empty target`);
      const tdir = resolver.resolveDir(tparts.slice(0, -1), h.name, false);
      hardlinkTarget = tdir === undefined ? undefined : `${tdir}/${tparts[tparts.length - 1]}`;
      const tst =
        hardlinkTarget === undefined ? undefined : lstatSync(hardlinkTarget, { throwIfNoEntry: false });
      if (hardlinkTarget === undefined || tst === undefined) {
        throw new SlipwayError('LAYER', `hard link ${h.name} points to a missing file: ${h.linkname}`);
      }
      if (tst.isDirectory()) throw new SlipwayError('LAYER', `hard link ${h.name} points to a directory`);
      if (hardlinkTarget === abs) return; // a link to itself is already satisfied
    }

    const existingDir = clearPath(abs, isDir);
    unpacked.add(abs);
    switch (h.typeflag) {
      case TYPEFLAG.dir: {
        if (!existingDir) mkdirSync(abs, { mode: 0o700 });
        if (sameOwner) lchownSync(abs, h.uid, h.gid);
        chmodSync(abs, h.mode & 0o7777);
        deferred.dirTimes.push({ abs, mtime: h.mtime });
        break;
      }
      case TYPEFLAG.file:
      case TYPEFLAG.contiguous: {
        const fd = openSync(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of body()) {
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
          }
          if (sameOwner) fchownSync(fd, h.uid, h.gid);
          fchmodSync(fd, h.mode & 0o7777);
          futimesSync(fd, h.mtime, h.mtime);
        } finally {
          closeSync(fd);
        }
        break;
      }
      case TYPEFLAG.symlink:
        symlinkSync(h.linkname, abs);
        ownAndTime(abs, h, true);
        break;
      case TYPEFLAG.hardlink:
        linkSync(hardlinkTarget!, abs);
        // The link's own header owns the shared inode last, as Docker's and BuildKit's untar apply
        // it (a link header saying 0644 turns its 0600 target 0644; observed on dockerd 20.10).
        if (!lstatSync(abs).isSymbolicLink()) ownAndTime(abs, h, false);
        break;
      case TYPEFLAG.char:
      case TYPEFLAG.block:
      case TYPEFLAG.fifo: {
        if (h.typeflag !== TYPEFLAG.fifo && !isRoot) {
          warn(`skipping device ${h.name}: creating device nodes needs root`);
          unpacked.delete(abs);
          return;
        }
        const kind =
          h.typeflag === TYPEFLAG.char
            ? ['c', String(h.devmajor), String(h.devminor)]
            : h.typeflag === TYPEFLAG.block
              ? ['b', String(h.devmajor), String(h.devminor)]
              : ['p'];
        await runTool('mknod', ['-m', (h.mode & 0o7777).toString(8), abs, ...kind], 'coreutils');
        ownAndTime(abs, h, false);
        break;
      }
      default:
        warn(`skipping ${h.name}: unsupported tar entry type '${String.fromCharCode(h.typeflag)}'`);
        unpacked.delete(abs);
        return;
    }
    if (h.xattrs.size > 0 && h.typeflag !== TYPEFLAG.hardlink && h.typeflag !== TYPEFLAG.symlink) {
      const keep: XattrMap = {};
      for (const [k, v] of h.xattrs) {
        // overlay's own xattrs in a layer would redirect lookups in the stacked mount: never trusted from a tar
        if (k.startsWith('trusted.overlay.') || k.startsWith('user.overlay.'))
          warn(`ignoring ${k} on ${h.name}`);
        else keep[k] = v;
      }
      if (Object.keys(keep).length > 0) deferred.xattrs.push({ path: abs, xattrs: keep });
    }
  };

  try {
    for await (const entry of readTar(tarSource)) {
      entries++;
      await handleEntry(entry.header, entry.body);
    }
    await codec.done;
    // xattrs after every chown (chown drops security.capability), dir mtimes after every child was written;
    // both only on paths still reached through real directories.
    const verified = new Map<string, boolean>();
    const xattrItems: Deferred['xattrs'] = [];
    for (const item of deferred.xattrs) {
      if (resolver.stillInside(item.path, verified)) xattrItems.push(item);
    }
    await writeXattrs(xattrItems);
    for (const d of deferred.dirTimes.reverse()) {
      if (!resolver.stillInside(d.abs, verified)) continue;
      if (lstatSync(d.abs, { throwIfNoEntry: false })?.isDirectory()) utimesSync(d.abs, d.mtime, d.mtime);
    }
  } catch (e) {
    if (isSlipwayError(e)) throw e;
    throw new SlipwayError('LAYER', `applying layer to ${targetDir} failed: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    if (whiteoutTemplate !== undefined) await unlink(whiteoutTemplate).catch(() => {});
    codec.stream.destroy();
  }
  return {
    entries,
    whiteouts,
    tarSize,
    diffId: `sha256:${diffHash.digest('hex')}`,
    digest: `sha256:${blobHash.digest('hex')}`,
    compression,
    warnings,
  };
}
