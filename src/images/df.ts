import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import { goStruct } from './gotemplate.js';
import { humanSize } from './humanize.js';
import { layerSize } from './layer-size.js';

/** One `docker system df` row. */
export interface DiskUsageRow {
  type: 'Images' | 'Containers' | 'Local Volumes' | 'Build Cache';
  total: number;
  active: number;
  size: number;
  reclaimable: number;
}

async function duBytes(path: string): Promise<{ bytes: number }> {
  let bytes = 0;
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) {
      for (const n of await readdir(p).catch(() => [] as string[])) await walk(join(p, n));
    } else bytes += st.size;
  };
  await walk(path);
  return { bytes };
}

export async function diskUsage(store: Store): Promise<DiskUsageRow[]> {
  const images = await store.listImages();
  const ids = new Set(images.map((i) => i.id));
  // Docker's image SIZE here is the sum of unique layers, not of images (shared layers count once).
  const layers = new Map<string, number>();
  for (const img of images) {
    const m = await store.readManifest(img.manifestDigest);
    if (m.layers.length === 1) {
      layers.set(m.layers[0]!.digest, img.size);
      continue;
    }
    for (const l of m.layers) if (!layers.has(l.digest)) layers.set(l.digest, await layerSize(store, l));
  }
  const imageBytes = [...layers.values()].reduce((a, b) => a + b, 0);
  const steps = await readdir(join(store.root, 'cache', 'steps')).catch(() => [] as string[]);
  const cache = await duBytes(join(store.root, 'cache'));
  return [
    { type: 'Images', total: ids.size, active: 0, size: imageBytes, reclaimable: imageBytes },
    { type: 'Containers', total: 0, active: 0, size: 0, reclaimable: 0 },
    { type: 'Local Volumes', total: 0, active: 0, size: 0, reclaimable: 0 },
    {
      type: 'Build Cache',
      total: steps.filter((s) => s.endsWith('.json')).length,
      active: 0,
      size: cache.bytes,
      reclaimable: cache.bytes,
    },
  ];
}

export const DF_HEADERS: Record<string, string> = {
  Type: 'TYPE',
  TotalCount: 'TOTAL',
  Active: 'ACTIVE',
  Size: 'SIZE',
  Reclaimable: 'RECLAIMABLE',
};

export const DEFAULT_DF_TABLE = 'table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}';

/** docker/cli's diskUsage contexts: RECLAIMABLE carries a percentage except for the build cache. */
export function diskUsageRows(rows: readonly DiskUsageRow[]): object[] {
  return rows.map((r) => {
    let reclaimable = humanSize(r.reclaimable);
    if (r.type !== 'Build Cache' && r.size > 0) {
      reclaimable += ` (${Math.trunc((r.reclaimable * 100) / r.size)}%)`;
    }
    return goStruct(
      {
        Active: String(r.active),
        Reclaimable: reclaimable,
        Size: humanSize(r.size),
        TotalCount: String(r.total),
        Type: r.type,
      },
      '*formatter.diskUsageContext',
    );
  });
}
