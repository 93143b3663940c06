/** Shared shapes of the layer module: what goes into a tar, what comes out of writing one. */
import type { LayerIndex, PreviousLayer } from './reuse.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export type LayerEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One tar member. Paths are posix, relative to the layer root, with no leading `/` and no trailing `/`. */
export interface LayerEntry {
  path: string;
  type: LayerEntryType;
  /** Permission bits plus setuid/setgid/sticky (07777); file-type bits are ignored. */
  mode: number;
  uid: number;
  gid: number;
  /** Content length for `file`; 0 for every other type. */
  size: number;
  /** Seconds since the epoch (integer part is written). */
  mtime: number;
  /** Symlink target, or for `hardlink` the layer-relative path of the first link. */
  linkTarget?: string;
  devMajor?: number;
  devMinor?: number;
  xattrs?: Record<string, Buffer>;
  /** Absolute path the content is streamed from (for `file`). */
  source?: string;
  /** In-memory content (for `file`), used when `source` is absent. */
  content?: Buffer;
  /** `sha256:<hex>` of the content at `source`, when the caller knows it: lets a rebuild reuse a member. */
  sourceDigest?: string;
}

export interface LayerBlob {
  /** The compressed blob that was written. */
  path: string;
  /** `sha256:<hex>` of the bytes in `path`. */
  digest: string;
  /** `sha256:<hex>` of the uncompressed tar. */
  diffId: string;
  /** Size in bytes of the compressed blob. */
  size: number;
  mediaType: string;
  /** Where the layer's members lie, when `index` was asked for and the layer was written as a stream. */
  index?: LayerIndex;
}

export interface WriteLayerOptions {
  compression?: Compression;
  /** Clamp every mtime to at most this many seconds since the epoch (SOURCE_DATE_EPOCH). */
  sourceDateEpoch?: number;
  /** OCI media types (default) or Docker schema 2 media types. */
  oci?: boolean;
  /** gzip level 1..9; default 6. */
  gzipLevel?: number;
  /** zstd level 1..19; default 3. */
  zstdLevel?: number;
  /** A previous write of this layer to take unchanged members and gzip blocks from (see reuse.ts). */
  previous?: PreviousLayer;
  /** Record a LayerIndex of the written layer (gzip layers written as a stream only). */
  index?: boolean;
}
