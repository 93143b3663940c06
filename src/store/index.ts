export type { BlobInfo, BlobSource, WriteBlobOptions } from './blobs.js';
export type { GcResult } from './gc.js';
export { FileLock, withLock } from './lock.js';
export type { ImageRecord, ImageSummary } from './records.js';
export {
  type PutImageInput,
  type PutImageResult,
  Store,
  type StoreOptions,
  type UntagResult,
} from './store.js';
