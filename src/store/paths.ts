import { join } from 'node:path';
import { digestHex } from '../image/digest.js';

/** Where everything lives under one data root. All dirs are on one filesystem, so renames are atomic. */
export class StorePaths {
  constructor(readonly root: string) {}
  get oci(): string {
    return join(this.root, 'oci');
  }
  get ociLayoutFile(): string {
    return join(this.oci, 'oci-layout');
  }
  get indexFile(): string {
    return join(this.oci, 'index.json');
  }
  get blobsDir(): string {
    return join(this.oci, 'blobs', 'sha256');
  }
  blob(digest: string): string {
    return join(this.blobsDir, digestHex(digest));
  }
  /** Temp blobs and in-progress snapshot extractions; names carry the writer's PID. */
  get tmp(): string {
    return join(this.root, 'tmp');
  }
  get snapshotsDir(): string {
    return join(this.root, 'snapshots');
  }
  snapshot(chainId: string): string {
    return join(this.snapshotsDir, digestHex(chainId));
  }
  /** Per-process pins of blobs/snapshots in use (see leases.ts). */
  get leases(): string {
    return join(this.root, 'leases');
  }
  /** Named pin sets, e.g. the build cache's (see Store.setRoots). */
  get roots(): string {
    return join(this.root, 'roots');
  }
  get locks(): string {
    return join(this.root, 'locks');
  }
  get indexLock(): string {
    return join(this.locks, 'index.lock');
  }
}
