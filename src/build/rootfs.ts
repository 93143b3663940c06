import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { applyLayer } from '../layer/apply.js';
import { mountOverlay, unmount } from '../runtime/overlay.js';
import { tempName } from '../store/fsutil.js';
import type { Store } from '../store/store.js';
import type { LayerRef } from './cache-index.js';

/**
 * Makes sure every layer of a chain is extracted as a snapshot (a base image is unpacked
 * once, not per build) and returns the snapshot dirs bottom-first.
 */
export async function ensureSnapshots(store: Store, layers: readonly LayerRef[]): Promise<string[]> {
  const dirs: string[] = [];
  for (const layer of layers) {
    const chain = layer.chainId;
    if (!(await store.hasSnapshot(chain))) {
      const temp = await store.createSnapshotTemp();
      try {
        const result = await applyLayer(createReadStream(store.blobPath(layer.descriptor.digest)), temp, {
          mediaType: layer.descriptor.mediaType,
          overlayWhiteouts: true,
        });
        if (result.diffId !== layer.diffId) {
          throw new SlipwayError(
            'STORE',
            `layer ${layer.descriptor.digest} does not match its diff id: expected ${layer.diffId}, got ${result.diffId}`,
          );
        }
        await store.commitSnapshot(temp, chain);
      } catch (e) {
        await rm(temp, { recursive: true, force: true });
        throw e;
      }
    }
    dirs.push(store.snapshotPath(chain));
  }
  return dirs;
}

/** A read-only view of a layer chain's merged filesystem, released after use. */
export interface RootfsView {
  root: string;
  release(): Promise<void>;
}

/**
 * One layer is its own view; several need a read-only overlay (overlayfs wants two or more
 * lower dirs without an upper); none is an empty directory.
 */
export async function openView(
  store: Store,
  layers: readonly LayerRef[],
  scratch: string,
): Promise<RootfsView> {
  const dirs = await ensureSnapshots(store, layers);
  if (dirs.length === 1) return { root: dirs[0]!, release: async () => {} };
  // A temp name: a killed process's view is unmounted and removed by the next Store.open.
  const target = join(scratch, tempName('view'));
  await mkdir(target, { recursive: true });
  if (dirs.length === 0) return { root: target, release: () => rm(target, { recursive: true, force: true }) };
  await mountOverlay({ lowerDirs: [...dirs].reverse(), target });
  return {
    root: target,
    release: async () => {
      await unmount(target);
      await rm(target, { recursive: true, force: true });
    },
  };
}
