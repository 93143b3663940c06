import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Digest } from '../image/digest.js';
import { isMounted, mountOverlay } from '../runtime/overlay.js';
import { resolveInRoot } from '../runtime/stubs.js';
import { StorePaths } from '../store/paths.js';
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
  const mount = (dirs: readonly string[]) =>
    mountOverlay({ lowerDirs: [...dirs].reverse(), upperDir: p.upper, workDir: p.work, target: p.rootfs });
  // The usual case: every snapshot is there, and the container's gc roots (set at create) keep it.
  // Only a missing one needs the store opened and the layer unpacked.
  const paths = new StorePaths(root);
  const dirs = layers.map((l) => paths.snapshot(l.chainId));
  if (dirs.every((d) => isDirectory(d))) return mount(dirs);
  const [{ Store }, { ensureSnapshots }] = await Promise.all([
    import('../store/store.js'),
    import('../build/rootfs.js'),
  ]);
  const store = await Store.open(root);
  try {
    await store.pin(layers.map((l) => l.chainId));
    await mount(await ensureSnapshots(store, layers));
  } finally {
    await store.close();
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Docker fills a new, empty volume with what the image has at the mount point (unless nocopy),
 * and gives it that directory's owner and mode. Runs with the rootfs mounted, before the container starts.
 */
export function populateVolumes(rootfs: string, mounts: readonly ContainerMount[]): void {
  for (const m of mounts) {
    if (m.type !== 'volume') continue;
    mkdirSync(m.source, { recursive: true });
    if (m.noCopy || readdirSync(m.source).length > 0) continue;
    const inImage = join(rootfs, resolveInRoot(rootfs, m.destination));
    if (!existsSync(inImage) || !lstatSync(inImage).isDirectory()) continue;
    if (readdirSync(inImage).length > 0) execFileSync('cp', ['-a', `${inImage}/.`, m.source]);
    // Docker's copyOwnership runs even for an empty directory: `RUN mkdir /data && chown app /data`
    // + `VOLUME /data` + `USER app` must give the app a volume it can write, not a root-owned one.
    const st = statSync(inImage);
    chownSync(m.source, st.uid, st.gid);
    chmodSync(m.source, st.mode & 0o7777);
  }
}
