import { ContainerStore } from './store.js';

/**
 * Image id (config digest, `sha256:…`) → ids of the containers created from it, whatever their
 * state: Docker's `rmi` refuses to remove an image a container (even a stopped one) uses.
 */
export async function imagesInUse(root: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const rec of new ContainerStore(root).list()) {
    const list = out.get(rec.imageId) ?? [];
    list.push(rec.id);
    out.set(rec.imageId, list);
  }
  return out;
}
