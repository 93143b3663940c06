import { mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { assertDigest, type Digest } from '../image/digest.js';
import { fsyncDir, isErrno, removeQuiet, tempName } from './fsutil.js';
import type { Lease } from './leases.js';
import type { StorePaths } from './paths.js';

/**
 * Extracted layers, one directory per layer chain: `snapshots/<chainId hex>/` holds ONLY that layer's files
 * (whiteouts as the layer applier left them); a container rootfs stacks them as overlay lower dirs.
 * A snapshot is extracted into a temp dir under `tmp/` (same filesystem) and renamed into place, so a
 * half-extracted tree is never visible under a chain ID.
 */
export class SnapshotStore {
  constructor(
    private readonly paths: StorePaths,
    private readonly lease: Lease,
  ) {}

  path(chainId: Digest): string {
    return this.paths.snapshot(chainId);
  }

  async has(chainId: Digest): Promise<boolean> {
    try {
      return (await stat(this.path(chainId))).isDirectory();
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false;
      throw e;
    }
  }

  /** A fresh empty dir to extract into; pass it to commit() (or remove it with discard()). */
  async createTemp(): Promise<string> {
    const dir = join(this.paths.tmp, tempName('snap'));
    await mkdir(dir, { mode: 0o755 });
    return dir;
  }

  /**
   * Atomically publish a fully extracted `tempDir` as the snapshot of `chainId`. Returns false when the
   * snapshot already existed (another process won the race): `tempDir` is removed and the existing one kept.
   */
  async commit(tempDir: string, chainId: Digest): Promise<boolean> {
    assertDigest(chainId, 'chain id');
    await this.lease.pin([chainId]);
    try {
      await rename(tempDir, this.path(chainId));
    } catch (e) {
      if (isErrno(e, 'ENOTEMPTY') || isErrno(e, 'EEXIST')) {
        await removeQuiet(tempDir);
        return false;
      }
      if (isErrno(e, 'ENOENT'))
        throw new SlipwayError('STORE', `snapshot temp dir ${tempDir} does not exist`);
      throw e;
    }
    await fsyncDir(this.paths.snapshotsDir);
    return true;
  }

  async discard(tempDir: string): Promise<void> {
    await removeQuiet(tempDir);
  }

  /** Move out of sight first, then delete: a partly deleted tree never keeps the chain ID's name. */
  async remove(chainId: Digest): Promise<boolean> {
    const doomed = join(this.paths.tmp, tempName('rm'));
    try {
      await rename(this.path(chainId), doomed);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return false;
      throw e;
    }
    await removeQuiet(doomed);
    return true;
  }
}
