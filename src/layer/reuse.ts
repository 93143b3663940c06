/**
 * A rebuild after a small edit writes a layer that is mostly the one before it: the same members,
 * byte for byte, around the few that changed. A LayerIndex, kept beside the build cache, records
 * where each member (header, content, padding) lies in a layer's tar and what made it; the next
 * write of that step copies a member whose make-up is unchanged out of the previous tar instead of
 * opening its file, and parallel gzip takes a compressed block as it was when its input and
 * dictionary came out the same. The bytes written are exactly those of a fresh write.
 */
import { type BlockRecord, zlibVersion } from './parallel-gzip.js';
import type { LayerEntry } from './types.js';

/** Bumped whenever the tar or gzip writer could write the same member or block differently. */
const FORMAT = 4;

/** Member kinds an index describes; a member's bytes follow from its fields below and its path. */
const KIND: Partial<Record<LayerEntry['type'], number>> = { file: 0, dir: 1, symlink: 2, hardlink: 3 };
/** Per member in `LayerIndex.fields`: kind, mode, uid, gid, mtime, size, start, end. */
const FIELDS = 8;
const DIGEST_CHARS = 'sha256:'.length + 64;

/**
 * Columns rather than records: a 10,000-member index is a few large JSON values, parsed and written
 * in milliseconds, with no string per member but its path.
 */
export interface LayerIndex {
  format: number;
  zlib: string;
  level: number;
  /** The gzip blob the ranges refer to (after decompression). */
  blob: string;
  tarSize: number;
  /** Each parallel-gzip block's compressed length and CRC-32, in order. */
  blocks: BlockRecord;
  /** Member paths in tar order. */
  paths: string[];
  /** FIELDS numbers per member; [start, end) is its byte range in the tar. */
  fields: number[];
  /** Each member's content digest (`sha256:<hex>`, blank for non-files), concatenated. */
  digests: string;
  /** Link targets by member number. */
  links: Record<number, string>;
}

/** Whether an entry's member bytes follow from what an index records of it. */
function describable(entry: LayerEntry): boolean {
  if (entry.xattrs !== undefined || KIND[entry.type] === undefined) return false;
  return entry.type !== 'file' || entry.sourceDigest?.length === DIGEST_CHARS;
}

/** Collects a layer's index while its tar is written. */
export class IndexRecorder {
  private readonly paths: string[] = [];
  private readonly fields: number[] = [];
  private readonly digests: string[] = [];
  private readonly links: Record<number, string> = {};

  /** `mtime` as written (clamped); [start, end) the member's range in the tar. */
  add(entry: LayerEntry, mtime: number, start: number, end: number): void {
    if (!describable(entry)) return;
    const n = this.paths.length;
    this.paths.push(entry.path);
    this.fields.push(
      KIND[entry.type] as number,
      entry.mode,
      entry.uid,
      entry.gid,
      mtime,
      entry.size,
      start,
      end,
    );
    this.digests.push(entry.type === 'file' ? (entry.sourceDigest as string) : ' '.repeat(DIGEST_CHARS));
    if (entry.linkTarget !== undefined) this.links[n] = entry.linkTarget;
  }

  index(blob: string, level: number, tarSize: number, blocks: BlockRecord): LayerIndex {
    return {
      format: FORMAT,
      zlib: zlibVersion(),
      level,
      blob,
      tarSize,
      blocks,
      paths: this.paths,
      fields: this.fields,
      digests: this.digests.join(''),
      links: this.links,
    };
  }
}

/** A previous layer opened for reuse: its tar, its members, and its compressed blocks. */
export class PreviousLayer {
  /** Where the next member most likely is: entries come in the order the index holds them. */
  private cursor = 0;
  private byPath: Map<string, number> | undefined;

  constructor(
    readonly tar: Buffer,
    private readonly index: LayerIndex,
    /** Block i's compressed piece; block i covers tar bytes [i MiB, (i+1) MiB). */
    readonly pieces: Buffer[],
  ) {}

  /** The gzip level the blocks were deflated at: only a write at that level may take them. */
  get level(): number {
    return this.index.level;
  }

  get crcs(): number[] {
    return this.index.blocks.crcs;
  }

  private position(path: string): number | undefined {
    const { paths } = this.index;
    if (paths[this.cursor] === path) return this.cursor++;
    if (!this.byPath) this.byPath = new Map(paths.map((p, i) => [p, i]));
    const i = this.byPath.get(path);
    if (i !== undefined) this.cursor = i + 1;
    return i;
  }

  /** The range of the previous member that `entry` (with `mtime` as written) would write again. */
  find(entry: LayerEntry, mtime: number): [start: number, end: number] | undefined {
    if (!describable(entry)) return undefined;
    const i = this.position(entry.path);
    if (i === undefined) return undefined;
    const f = this.index.fields;
    const o = i * FIELDS;
    if (
      f[o] !== KIND[entry.type] ||
      f[o + 1] !== entry.mode ||
      f[o + 2] !== entry.uid ||
      f[o + 3] !== entry.gid ||
      f[o + 4] !== mtime ||
      f[o + 5] !== entry.size
    ) {
      return undefined;
    }
    if (entry.type === 'file') {
      if (!this.index.digests.startsWith(entry.sourceDigest as string, i * DIGEST_CHARS)) return undefined;
    } else if (this.index.links[i] !== entry.linkTarget) {
      return undefined;
    }
    return [f[o + 6] as number, f[o + 7] as number];
  }
}

const GZIP_HEADER_BYTES = 10;

/**
 * Opens `index` against its blob and decompressed tar; undefined when anything disagrees (another
 * format or zlib, a blob or tar of another size, columns of other lengths): the caller then writes
 * from scratch.
 */
export function previousLayer(index: LayerIndex, blob: Buffer, tar: Buffer): PreviousLayer | undefined {
  if (index.format !== FORMAT || index.zlib !== zlibVersion()) return undefined;
  if (tar.length !== index.tarSize) return undefined;
  const n = index.paths.length;
  if (index.fields.length !== n * FIELDS || index.digests.length !== n * DIGEST_CHARS) return undefined;
  if (index.blocks.crcs.length !== index.blocks.sizes.length) return undefined;
  for (let o = 0; o < index.fields.length; o += FIELDS) {
    const start = index.fields[o + 6] as number;
    const end = index.fields[o + 7] as number;
    if (!(start >= 0 && start <= end && end <= tar.length)) return undefined;
  }
  const pieces: Buffer[] = [];
  let at = GZIP_HEADER_BYTES;
  for (const n of index.blocks.sizes) {
    pieces.push(blob.subarray(at, at + n));
    at += n;
  }
  if (at + 8 !== blob.length) return undefined;
  return new PreviousLayer(tar, index, pieces);
}
