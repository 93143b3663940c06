/** Layers: deterministic tar blobs out, safe extraction in, overlay upper dirs as diffs. */
export { type ApplyOptions, type ApplyResult, applyLayer } from './apply.js';
export { DEFAULT_GZIP_LEVEL, DEFAULT_ZSTD_LEVEL, detectCompression } from './compress.js';
export * from './media-types.js';
export { type DiffUpperDirOptions, diffUpperDir, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './overlay-diff.js';
export type { SymlinkPolicy } from './safe-path.js';
export type { Compression, LayerBlob, LayerEntry, LayerEntryType, WriteLayerOptions } from './types.js';
export { type EntriesFromDirOptions, entriesFromDir } from './walk.js';
export { writeLayer } from './write-layer.js';
export { xattrToolsAvailable } from './xattr.js';
