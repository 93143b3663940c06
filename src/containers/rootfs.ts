import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureSnapshots } from '../build/rootfs.js';
import type { Digest } from '../image/digest.js';
import { isMounted, mountOverlay } from '../runtime/overlay.js';
import { resolveInRoot } from '../runtime/stubs.js';
import { Store } from '../store/store.js';
import type { ContainerMount, StoredLayer } from './record.js';
import type { ContainerPaths } from './store.js';

/** The gc roots name that keeps a container's image content alive until `rm`. */
export function rootsName(id: string): string {
  return `container-${id}`;
}

/** Every digest a container needs from the store: manifest, config, layer blobs, snapshot chain ids. */
export function contentDigests(
  manifestDigest: string,
  imageId: string,
  layers: readonly StoredLayer[],
): Digest[] {
  return [manifestDigest, imageId, ...layers.flatMap((l) => [l.descriptor.digest, l.chainId])];
}

/**
 * Mounts the container's rootfs: the image's snapshots (extracted on first use) under the
 * container's own upper dir, which survives until `rm` like Docker's container layer.
 */
export async function mountContainerRootfs(
  root: string,
  p: ContainerPaths,
  layers: readonly StoredLayer[],
): Promise<void> {
  if (isMounted(p.rootfs)) return;
  const store = await Store.open(root);
  try {
    await store.pin(layers.map((l) => l.chainId));
    const dirs = await ensureSnapshots(store, layers);
    await mountOverlay({
      lowerDirs: [...dirs].reverse(),
      upperDir: p.upper,
      workDir: p.work,
      target: p.rootfs,
    });
  } finally {
    await store.close();
  }
}

/**
 * Docker fills a new, empty volume with what the image has at the mount point (unless nocopy).
 * Runs with the rootfs mounted, before the container starts.
 */
export function populateVolumes(rootfs: string, mounts: readonly ContainerMount[]): void {
  for (const m of mounts) {
    if (m.type !== 'volume') continue;
    mkdirSync(m.source, { recursive: true });
    if (m.noCopy || readdirSync(m.source).length > 0) continue;
    const inImage = join(rootfs, resolveInRoot(rootfs, m.destination));
    if (!existsSync(inImage) || !lstatSync(inImage).isDirectory()) continue;
    if (readdirSync(inImage).length === 0) continue;
    execFileSync('cp', ['-a', `${inImage}/.`, m.source]);
  }
}
