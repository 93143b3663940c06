import { SlipwayError } from '../errors.js';
import { shortId } from '../image/digest.js';
import type { Store } from '../store/store.js';
import { goStruct, htmlEscapedJson } from './gotemplate.js';
import { goRfc3339, humanDuration, humanSizeWithPrecision } from './humanize.js';
import { layerSizes } from './layer-size.js';
import { namesForDisplay } from './list.js';

/** One `docker history` row as the daemon returns it (newest first). */
export interface HistoryItem {
  /** Image ID for the top row; `<missing>` below (slipway keeps no parent images). */
  id: string;
  /** Unix seconds; Go's zero time when the entry has none. */
  created: number;
  createdBy: string;
  comment: string;
  size: number;
  tags: string[];
}

/** Go's zero time.Time in Unix seconds (what an entry without `created` reports). */
const GO_ZERO_TIME = -62135596800;

export async function imageHistory(store: Store, ref: string): Promise<HistoryItem[]> {
  const img = await store.resolve(ref);
  const manifest = await store.readManifest(img.manifestDigest);
  const history = img.config.history ?? [];
  const nonEmpty = history.filter((h) => !h.empty_layer).length;
  if (nonEmpty > manifest.layers.length) {
    throw new SlipwayError('STORE', 'too many non-empty layers in History section');
  }
  const sizes = await layerSizes(
    store,
    manifest.layers.slice(0, nonEmpty),
    manifest.layers.length === 1 ? img.size : undefined,
  );
  const items: HistoryItem[] = [];
  let layer = 0;
  for (const h of history) {
    let size = 0;
    if (!h.empty_layer) size = sizes[layer++] ?? 0;
    const ms = h.created ? Date.parse(h.created) : Number.NaN;
    items.unshift({
      id: '<missing>',
      created: Number.isNaN(ms) ? GO_ZERO_TIME : Math.floor(ms / 1000),
      createdBy: h.created_by ?? '',
      comment: h.comment ?? '',
      size,
      tags: [],
    });
  }
  const top = items[0];
  if (top) {
    top.id = img.id;
    top.tags = namesForDisplay(img).tags;
  }
  return items;
}

/** docker/cli formatter.Ellipsis for display width (runes; wide runes count as one here). */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  const rs = Array.from(s);
  if (max === 1) return rs[0] ?? '';
  if (rs.length <= max) return s;
  return `${rs.slice(0, max - 1).join('')}…`;
}

export interface HistoryRowOptions {
  human: boolean;
  trunc: boolean;
  now?: number;
}

export const HISTORY_HEADERS: Record<string, string> = {
  Comment: 'COMMENT',
  CreatedAt: 'CREATED AT',
  CreatedBy: 'CREATED BY',
  CreatedSince: 'CREATED',
  ID: 'IMAGE',
  Size: 'SIZE',
};

/** docker/cli NewHistoryFormat. */
export function historyFormat(source: string, quiet: boolean, human: boolean): string {
  if (source === '' || source === 'table') {
    if (quiet) return '{{.ID}}';
    return human
      ? 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}'
      : 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
  }
  return source;
}

/** Go's time.Now().Sub(t) saturates at ~292 years; HumanDuration then says so. */
const MAX_DURATION_MS = 9_223_372_036_854;

export function historyRows(items: readonly HistoryItem[], opts: HistoryRowOptions): object[] {
  const now = opts.now ?? Date.now();
  return items.map((h) => {
    const createdAt = goRfc3339(h.created);
    const by = h.createdBy.replaceAll('\t', ' ');
    return htmlEscapedJson(
      goStruct(
        {
          Comment: h.comment,
          CreatedAt: createdAt,
          CreatedBy: opts.trunc ? ellipsis(by, 45) : by,
          CreatedSince: opts.human
            ? `${humanDuration(Math.min(now - h.created * 1000, MAX_DURATION_MS))} ago`
            : createdAt,
          ID: opts.trunc && h.id.startsWith('sha256:') ? shortId(h.id) : h.id,
          Size: opts.human ? humanSizeWithPrecision(h.size, 3) : String(h.size),
        },
        '*formatter.historyContext',
      ),
    );
  });
}
