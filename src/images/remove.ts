import { SlipwayError } from '../errors.js';
import { shortId } from '../image/digest.js';
import { familiarString, parseDockerRef, parseReference } from '../image/reference.js';
import type { ImageRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import { type FilterArgs, matchLabels, validateFilterKeys } from './filters.js';

/** One line of `docker rmi` output. */
export type DeleteRecord = { untagged: string } | { deleted: string };

/**
 * Containers using an image, for the daemon's delete conflicts. slipway has no containers yet; the
 * container store registers a checker here when it lands.
 */
export type ImageUsers = (imageId: string) => Promise<{ running: string[]; stopped: string[] }>;
export const imageUsers: { check: ImageUsers } = { check: async () => ({ running: [], stopped: [] }) };

function isImageIdPrefix(imageId: string, input: string): boolean {
  if (imageId.startsWith(input)) return true;
  const colon = imageId.indexOf(':');
  return colon >= 0 && imageId.slice(colon + 1).startsWith(input);
}

function conflict(id: string, forced: boolean, message: string): SlipwayError {
  return new SlipwayError(
    'CONFLICT',
    `conflict: unable to delete ${shortId(id)} (${forced ? 'cannot be forced' : 'must be forced'}) - ${message}`,
  );
}

/** All recorded manifests carrying this image ID (one Docker "image"). */
async function manifestsOf(store: Store, id: string): Promise<ImageRecord[]> {
  return (await store.listImages()).filter((r) => r.id === id);
}

function sortedNames(records: readonly ImageRecord[]): string[] {
  return [...new Set(records.flatMap((r) => r.names))].sort();
}

/**
 * moby's ImageService.ImageDelete over the store: a name untags (and deletes the image with its last
 * name); an ID deletes, refusing images with several names unless forced. Blobs are left to `store.gc()`.
 */
export async function removeImage(store: Store, input: string, force: boolean): Promise<DeleteRecord[]> {
  const img = await store.resolve(input);
  const records: DeleteRecord[] = [];
  let names = sortedNames(await manifestsOf(store, img.id));
  const byName = !isImageIdPrefix(img.id, input) && parseReference(input).digest === undefined;
  if (byName) {
    if (!force && names.length === 1) {
      const users = await imageUsers.check(img.id);
      const c = users.running[0] ?? users.stopped[0];
      if (c !== undefined) {
        throw new SlipwayError(
          'CONFLICT',
          `conflict: unable to remove repository reference "${input}" (must force) - container ${c.slice(0, 12)} is using its referenced image ${shortId(img.id)}`,
        );
      }
    }
    const ref = parseDockerRef(input);
    await store.untag(input);
    records.push({ untagged: familiarString(ref) });
    names = sortedNames(await manifestsOf(store, img.id));
    if (names.length > 0) return records;
  } else if (names.length === 1) {
    await checkContainers(img.id, force);
    for (const n of names) {
      await store.untag(n);
      records.push({ untagged: familiarString(parseDockerRef(n)) });
    }
    names = [];
  }
  if (names.length > 0 && !force)
    throw conflict(img.id, false, 'image is referenced in multiple repositories');
  await checkContainers(img.id, force);
  for (const n of names) {
    await store.untag(n);
    records.push({ untagged: familiarString(parseDockerRef(n)) });
  }
  for (const r of await manifestsOf(store, img.id)) await store.deleteImage(r.manifestDigest);
  records.push({ deleted: img.id });
  return records;
}

async function checkContainers(id: string, force: boolean): Promise<void> {
  const users = await imageUsers.check(id);
  const running = users.running[0];
  if (running !== undefined)
    throw conflict(id, true, `image is being used by running container ${running.slice(0, 12)}`);
  const stopped = users.stopped[0];
  if (stopped !== undefined && !force)
    throw conflict(id, false, `image is being used by stopped container ${stopped.slice(0, 12)}`);
}

export interface PruneResult {
  records: DeleteRecord[];
  reclaimed: number;
}

/** `docker image prune`: dangling images (all unused ones with `all`), then gc. */
export async function pruneImages(
  store: Store,
  opts: { all: boolean; filters: FilterArgs },
): Promise<PruneResult> {
  validateFilterKeys(opts.filters, ['label', 'label!', 'until', 'dangling']);
  for (const key of ['until', 'label!']) {
    if (opts.filters.has(key))
      throw new SlipwayError('UNSUPPORTED', `the prune filter "${key}" is not supported yet`);
  }
  const labels = opts.filters.get('label');
  const all = opts.all || opts.filters.get('dangling')?.includes('false') === true;
  const records: DeleteRecord[] = [];
  const seen = new Set<string>();
  for (const img of await store.listImages()) {
    if (seen.has(img.id)) continue;
    seen.add(img.id);
    const siblings = await manifestsOf(store, img.id);
    const named = siblings.some((s) => s.names.length > 0);
    if (named && !all) continue;
    if (labels && !matchLabels(labels, img.config.config?.Labels)) continue;
    const users = await imageUsers.check(img.id);
    if (users.running.length > 0 || users.stopped.length > 0) continue;
    for (const n of sortedNames(siblings)) {
      await store.untag(n);
      records.push({ untagged: familiarString(parseDockerRef(n)) });
    }
    for (const s of siblings) await store.deleteImage(s.manifestDigest);
    records.push({ deleted: img.id });
  }
  const gc = records.length > 0 ? await store.gc() : { reclaimedBytes: 0 };
  return { records, reclaimed: gc.reclaimedBytes };
}
