import { SlipwayError } from '../errors.js';
import { shortId } from '../image/digest.js';
import {
  familiarName,
  familiarString,
  parseReference,
  type Reference,
  tryParseDockerRef,
} from '../image/reference.js';
import type { ImageSummary } from '../store/records.js';
import type { Store } from '../store/store.js';
import {
  type FilterArgs,
  filterBool,
  goPathMatch,
  InvalidFilterError,
  matchLabels,
  validateFilterKeys,
} from './filters.js';
import { goStruct, htmlEscapedJson } from './gotemplate.js';
import { createdSince, goTimeString, humanSize, humanSizeWithPrecision, unixSeconds } from './humanize.js';

/** One image as the daemon's image list summarizes it (familiar names, Unix-second creation time). */
export interface ImageEntry {
  record: ImageSummary;
  /** Familiar `repo:tag` strings (`python:3.11`), only those a reference filter let through. */
  repoTags: string[];
  /** Familiar `repo@sha256:<manifest digest>` strings, one per repository. */
  repoDigests: string[];
  created: number;
  size: number;
}

export interface ListImagesOptions {
  filters?: FilterArgs;
  /** Show intermediate images too; slipway records no parent images, so this changes nothing. */
  all?: boolean;
}

const IMAGE_FILTERS = ['dangling', 'label', 'label!', 'before', 'since', 'reference', 'until'];

/** Docker's `familiar` view of a stored full name, or undefined for foreign names that are not refs. */
function familiarRef(name: string): Reference | undefined {
  return tryParseDockerRef(name);
}

/** Names as Docker lists them: lexical order of the full normalized reference (reference store order). */
export function namesForDisplay(record: ImageSummary): { tags: string[]; digests: string[] } {
  const refs = record.names
    .map((n) => ({ n, r: familiarRef(n) }))
    .filter((x): x is { n: string; r: Reference } => x.r !== undefined)
    .sort((a, b) => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0));
  const tags = refs.map((x) => familiarString(x.r));
  const repos: string[] = [];
  for (const x of refs) {
    const repo = familiarName(x.r);
    if (!repos.includes(repo)) repos.push(repo);
  }
  // Like Docker's containerd image store: every stored name's repository carries the manifest digest.
  const digests = repos.map((repo) => `${repo}@${record.manifestDigest}`);
  return { tags, digests };
}

/** docker's reference.FamiliarMatch: the pattern against `name:tag`, then against the bare name. */
export function familiarMatch(pattern: string, ref: string): boolean {
  if (goPathMatch(pattern, ref)) return true;
  const at = ref.indexOf('@');
  const bare = at >= 0 ? ref.slice(0, at) : ref.replace(/:[^:/]+$/, '');
  return goPathMatch(pattern, bare);
}

/** `docker images` selection: newest first, with the daemon's filters applied. */
export async function listImageEntries(store: Store, opts: ListImagesOptions = {}): Promise<ImageEntry[]> {
  const filters = opts.filters ?? new Map<string, string[]>();
  validateFilterKeys(filters, IMAGE_FILTERS);
  for (const key of ['label!', 'until']) {
    if (filters.has(key)) {
      throw new SlipwayError('UNSUPPORTED', `the image filter "${key}" is not supported yet`);
    }
  }
  const danglingOnly = filterBool(filters, 'dangling', false);
  // Summaries come from index.json alone; configs are read only when a label filter needs them.
  const records = await store.summaries();
  let beforeTime: number | undefined;
  let sinceTime: number | undefined;
  for (const [key, bound] of [
    ['before', 'b'],
    ['since', 's'],
  ] as const) {
    for (const value of filters.get(key) ?? []) {
      const img = await store.resolve(value);
      const t = unixSeconds(img.created);
      if (bound === 'b') beforeTime = beforeTime === undefined ? t : Math.min(beforeTime, t);
      else sinceTime = sinceTime === undefined ? t : Math.max(sinceTime, t);
    }
  }
  const patterns = filters.get('reference');
  const labels = filters.get('label');
  const out: ImageEntry[] = [];
  for (const record of records) {
    const created = unixSeconds(record.created);
    if (beforeTime !== undefined && created >= beforeTime) continue;
    if (sinceTime !== undefined && created <= sinceTime) continue;
    if (labels && !matchLabels(labels, (await store.readConfig(record.configDigest)).config?.Labels))
      continue;
    let { tags, digests } = namesForDisplay(record);
    if (patterns) {
      tags = tags.filter((t) => patterns.some((p) => familiarMatch(p, t)));
      digests = digests.filter((d) => patterns.some((p) => familiarMatch(p, d)));
    }
    const named = tags.length > 0 || digests.length > 0;
    if (!named) {
      if (filters.has('dangling') && !danglingOnly) continue;
      if (patterns) continue;
    } else if (danglingOnly) continue;
    out.push({ record, repoTags: tags, repoDigests: digests, created, size: record.size });
  }
  // Newest first; equal seconds keep the store's order (finer timestamps first).
  return out
    .map((e, i) => ({ e, i, ms: Date.parse(e.record.created ?? '') || 0 }))
    .sort((a, b) => b.e.created - a.e.created || b.ms - a.ms || a.i - b.i)
    .map((x) => x.e);
}

export interface ImageRowOptions {
  digests: boolean;
  trunc: boolean;
  now?: number;
}

/** docker/cli's imageContext fields, one struct per row. */
export interface ImageRow {
  Containers: string;
  CreatedAt: string;
  CreatedSince: string;
  Digest: string;
  ID: string;
  Repository: string;
  SharedSize: string;
  Size: string;
  Tag: string;
  UniqueSize: string;
  VirtualSize: string;
}

export const IMAGE_HEADERS: Record<string, string> = {
  Containers: 'CONTAINERS',
  CreatedAt: 'CREATED AT',
  CreatedSince: 'CREATED',
  Digest: 'DIGEST',
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  SharedSize: 'SHARED SIZE',
  Size: 'SIZE',
  Tag: 'TAG',
  UniqueSize: 'UNIQUE SIZE',
  VirtualSize: 'VIRTUAL SIZE',
};

export const DEFAULT_IMAGE_TABLE =
  'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';
export const DEFAULT_IMAGE_TABLE_DIGEST =
  'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{if .CreatedSince }}{{.CreatedSince}}{{else}}N/A{{end}}\t{{.Size}}';

/** docker/cli NewImageFormat. */
export function imageFormat(source: string, quiet: boolean, digests: boolean): string {
  if (source === '' || source === 'table') {
    if (quiet) return '{{.ID}}';
    return digests ? DEFAULT_IMAGE_TABLE_DIGEST : DEFAULT_IMAGE_TABLE;
  }
  if (source.startsWith('table') && digests && !source.includes('{{.Digest}}'))
    return `${source}\t{{.Digest}}`;
  return source;
}

/** Rows as docker/cli's imageFormat expands them: one per repo:tag (× digest with --digests). */
export function imageRows(entries: readonly ImageEntry[], opts: ImageRowOptions): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const e of entries) {
    const make = (repo: string, tag: string, digest: string): ImageRow =>
      htmlEscapedJson(
        goStruct(
          {
            Containers: 'N/A',
            CreatedAt: goTimeString(e.created),
            CreatedSince: createdSince(e.created, opts.now),
            Digest: digest,
            ID: opts.trunc ? shortId(e.record.id) : e.record.id,
            Repository: repo,
            SharedSize: 'N/A',
            Size: humanSizeWithPrecision(e.size, 3),
            Tag: tag,
            UniqueSize: 'N/A',
            VirtualSize: humanSize(e.size),
          },
          '*formatter.imageContext',
        ),
      );
    if (e.repoTags.length === 0 && e.repoDigests.length === 0) {
      rows.push(make('<none>', '<none>', '<none>'));
      continue;
    }
    const byRepo = new Map<string, { tags: string[]; digests: string[] }>();
    const slot = (repo: string) => {
      let s = byRepo.get(repo);
      if (!s) {
        s = { tags: [], digests: [] };
        byRepo.set(repo, s);
      }
      return s;
    };
    for (const t of e.repoTags) {
      const r = parseReference(t);
      slot(familiarName(r)).tags.push(r.tag ?? 'latest');
    }
    for (const d of e.repoDigests) {
      const at = d.indexOf('@');
      slot(d.slice(0, at)).digests.push(d.slice(at + 1));
    }
    for (const [repo, s] of byRepo) {
      if (s.tags.length === 0) {
        if (opts.digests) for (const d of s.digests) rows.push(make(repo, '<none>', d));
        else rows.push(make(repo, '<none>', ''));
        continue;
      }
      const digests = opts.digests ? s.digests : [];
      for (const tag of s.tags) {
        if (digests.length === 0) rows.push(make(repo, tag, '<none>'));
        else for (const d of digests) rows.push(make(repo, tag, d));
      }
    }
  }
  return rows;
}

export { InvalidFilterError };
