/**
 * A rebuild after a small edit writes a layer that is mostly the one before it: the same members,
 * byte for byte, around the few that changed. A LayerIndex, kept beside the build cache, records
 * where each context file's member (header, content, padding) lies in a layer's tar and what made
 * it; the next write of that step copies a member whose make-up is unchanged out of the previous
 * tar instead of opening the file, and parallel gzip takes a compressed block as it was when its
 * input and dictionary came out the same. The bytes written are exactly those of a fresh write.
 */
import { type BlockRecord, zlibVersion } from './parallel-gzip.js';
import type { LayerEntry } from './types.js';

/** Bumped whenever the tar or gzip writer could write the same member or block differently. */
const FORMAT = 3;

/** What a member was made of; equal fingerprints (at one path) mean equal member bytes. */
export function memberFingerprint(entry: LayerEntry, mtime: number): string | undefined {
  if (entry.xattrs !== undefined) return undefined;
  const head = `${entry.type}:${entry.mode}:${entry.uid}:${entry.gid}:${mtime}`;
  switch (entry.type) {
    case 'file':
      return entry.sourceDigest === undefined ? undefined : `${head}:${entry.size}:${entry.sourceDigest}`;
    case 'dir':
      return head;
    case 'symlink':
    case 'hardlink':
      return `${head}:${entry.linkTarget}`;
    default:
      return undefined;
  }
}

/** One member as recorded: path, fingerprint, and its byte range [start, end) in the tar. */
export type IndexedMember = [path: string, fingerprint: string, start: number, end: number];

export interface LayerIndex {
  format: number;
  zlib: string;
  level: number;
  /** The gzip blob the ranges refer to (after decompression). */
  blob: string;
  tarSize: number;
  /** Each parallel-gzip block's compressed length and CRC-32, in order. */
  blocks: BlockRecord;
  members: IndexedMember[];
}

export function layerIndex(
  blob: string,
  level: number,
  tarSize: number,
  blocks: BlockRecord,
  members: IndexedMember[],
): LayerIndex {
  return { format: FORMAT, zlib: zlibVersion(), level, blob, tarSize, blocks, members };
}

/** A previous layer opened for reuse: its tar, member ranges by path, and compressed blocks. */
export interface PreviousLayer {
  tar: Buffer;
  members: Map<string, IndexedMember>;
  /** The gzip level its blocks were deflated at: only a write at that level may take them. */
  level: number;
  /** Block i's compressed piece; block i covers tar bytes [i MiB, (i+1) MiB). */
  pieces: Buffer[];
  crcs: number[];
}

const GZIP_HEADER_BYTES = 10;

/**
 * Opens `index` against its blob and decompressed tar; undefined when anything disagrees (another
 * format or zlib, a blob of another size): the caller then writes from scratch.
 */
export function previousLayer(index: LayerIndex, blob: Buffer, tar: Buffer): PreviousLayer | undefined {
  if (index.format !== FORMAT || index.zlib !== zlibVersion()) return undefined;
  if (tar.length !== index.tarSize) return undefined;
  const pieces: Buffer[] = [];
  let at = GZIP_HEADER_BYTES;
  if (index.blocks.crcs.length !== index.blocks.sizes.length) return undefined;
  for (const n of index.blocks.sizes) {
    pieces.push(blob.subarray(at, at + n));
    at += n;
  }
  if (at + 8 !== blob.length) return undefined;
  const members = new Map(index.members.map((m) => [m[0], m]));
  return { tar, members, level: index.level, pieces, crcs: index.blocks.crcs };
}
