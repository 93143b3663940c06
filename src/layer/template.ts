/**
 * An earlier layer of the same step, used as a source of file contents: when a COPY of 10,000 files
 * is rebuilt because one of them changed, the other 9,999 come out of the old layer (one gunzip)
 * instead of 9,999 opens and reads. Nothing is trusted: a member's bytes are used only when its
 * path and size match and their sha256 equals the digest the caller already knows for the new
 * file, so a stale, foreign or damaged template only costs the time spent looking at it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { BLOCK, TYPEFLAG } from './tar-header.js';
import type { LayerEntry } from './types.js';

/** Templates larger than this are not worth holding in memory to save reads. */
const MAX_COMPRESSED = 32 << 20;
const MAX_TAR = 128 << 20;

export interface LayerTemplate {
  /** The layer blob (gzip) to take contents from. */
  blob: string;
  /** The sha256 (32 bytes) of the new entry's content if known without reading it, else undefined. */
  digestOf(entry: LayerEntry): Buffer | undefined;
}

function octal(b: Buffer, off: number, width: number): number {
  let v = 0;
  for (let i = off; i < off + width; i++) {
    const c = b[i] as number;
    if (c === 0 || c === 0x20) {
      if (v > 0) break;
      continue;
    }
    if (c < 0x30 || c > 0x37) return -1;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

function cString(b: Buffer, off: number, width: number): string {
  let end = off;
  while (end < off + width && b[end] !== 0) end++;
  return b.toString('utf8', off, end);
}

/** Regular-file members by path → their content, for members a plain ustar header describes. */
function indexMembers(tar: Buffer): Map<string, Buffer> {
  const members = new Map<string, Buffer>();
  let off = 0;
  let skipNext = false;
  while (off + BLOCK <= tar.length) {
    if (tar[off] === 0) break; // end of archive (a member always has a name)
    const size = octal(tar, off + 124, 12);
    if (size < 0) break;
    const type = tar[off + 156] as number;
    const dataAt = off + BLOCK;
    if (dataAt + size > tar.length) break;
    if (type === TYPEFLAG.paxLocal || type === TYPEFLAG.paxGlobal || type === TYPEFLAG.gnuLongName) {
      // The member that follows is named elsewhere: leave it out rather than parse extensions.
      skipNext = true;
    } else {
      if ((type === TYPEFLAG.file || type === 0) && !skipNext) {
        const name = cString(tar, off, 100);
        const prefix =
          tar.toString('latin1', off + 257, off + 263) === 'ustar\0' ? cString(tar, off + 345, 155) : '';
        members.set(prefix ? `${prefix}/${name}` : name, tar.subarray(dataAt, dataAt + size));
      }
      skipNext = false;
    }
    off = dataAt + Math.ceil(size / BLOCK) * BLOCK;
  }
  return members;
}

/** A content source for the tar writer, or undefined when the template cannot be used at all. */
export function templateContents(
  template: LayerTemplate,
): ((entry: LayerEntry) => Buffer | undefined) | undefined {
  let members: Map<string, Buffer>;
  try {
    const blob = readFileSync(template.blob);
    if (blob.length > MAX_COMPRESSED) return undefined;
    members = indexMembers(gunzipSync(blob, { maxOutputLength: MAX_TAR }));
  } catch {
    return undefined;
  }
  return (entry) => {
    const old = members.get(entry.path);
    if (old === undefined || old.length !== entry.size) return undefined;
    const want = template.digestOf(entry);
    if (want === undefined) return undefined;
    return createHash('sha256').update(old).digest().equals(want) ? old : undefined;
  };
}
