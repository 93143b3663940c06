import { listContainers } from './lifecycle.js';
import { ContainerStore } from './store.js';

/**
 * The containers created from an image (config digest, `sha256:…`), split by whether they run:
 * Docker's `rmi` refuses an image a running container uses, and one a stopped container uses unless forced.
 */
export async function imageUsers(
  root: string,
  imageId: string,
): Promise<{ running: string[]; stopped: string[] }> {
  const out = { running: [] as string[], stopped: [] as string[] };
  for (const rec of await listContainers(new ContainerStore(root))) {
    if (rec.imageId !== imageId) continue;
    (rec.state.status === 'running' ? out.running : out.stopped).push(rec.id);
  }
  return out;
}
