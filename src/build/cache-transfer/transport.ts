import type { Descriptor } from '../../image/types.js';
import type { BuiltCache } from './format.js';

/** Where an export writes: an OCI layout directory or a registry repository. */
export interface CacheTarget {
  /** `registry 127.0.0.1:5000/app:cache` / `local /path` — for messages. */
  readonly name: string;
  /** The blob is already there (and need not be written again). */
  hasBlob(d: Descriptor): Promise<boolean>;
  /** Write one blob from a file of the local store, or from bytes. */
  putBlob(d: Descriptor, content: { path: string } | { bytes: Buffer }): Promise<void>;
  /** Last: name the manifest (its config and layers are already written). */
  putManifest(built: BuiltCache): Promise<void>;
}

/** Where an import reads from. */
export interface CacheSource {
  readonly name: string;
  /** The cache manifest's bytes, verified against a digest when the spec named one. */
  manifest(): Promise<Buffer>;
  /** A blob's bytes; the consumer verifies digest and size. A missing blob throws NOT_FOUND. */
  blob(d: Descriptor): AsyncIterable<Buffer>;
}
