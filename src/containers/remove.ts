import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isMounted, unmount } from '../runtime/overlay.js';
import { Store } from '../store/store.js';
import { removeNetns } from './network.js';
import type { ContainerRecord } from './record.js';
import { rootsName } from './rootfs.js';
import type { ContainerStore } from './store.js';

/**
 * Deletes a stopped container: leftover mounts, its directory (record, log, upper layer), its gc
 * roots, and with `volumes` its anonymous volumes (named volumes always stay, as in Docker).
 */
export async function removeContainerFiles(
  cs: ContainerStore,
  rec: ContainerRecord,
  opts: { volumes: boolean },
): Promise<void> {
  const p = cs.paths(rec.id);
  if (isMounted(p.rootfs)) await unmount(p.rootfs);
  if (isMounted(p.netns)) await removeNetns(p.netns);
  await cs.removeFiles(rec.id);
  const store = await Store.open(cs.root);
  try {
    await store.removeRoots(rootsName(rec.id));
  } finally {
    await store.close();
  }
  if (opts.volumes) {
    for (const m of rec.mounts) {
      if (m.type === 'volume' && m.anonymous && m.name) {
        await rm(join(cs.volumesDir, m.name), { recursive: true, force: true });
      }
    }
  }
}
