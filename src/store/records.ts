import { SlipwayError } from '../errors.js';
import type { Digest } from '../image/digest.js';
import { familiarString, formatReference, parseReference, tryParseDockerRef } from '../image/reference.js';
import type { Descriptor, ImageConfig, Index } from '../image/types.js';
import { ANNOTATION_CONFIG, ANNOTATION_CREATED, ANNOTATION_SIZE, refName } from './layout.js';

/** What `docker images` needs about one image, derived from index.json alone when slipway wrote it. */
export interface ImageSummary {
  /** Docker's IMAGE ID: the config digest. */
  id: Digest;
  configDigest: Digest;
  manifestDigest: Digest;
  manifestMediaType: string;
  manifestSize: number;
  /** Full normalized refs (`docker.io/library/python:3.11-slim`); empty for a dangling image. */
  names: string[];
  created: string | undefined;
  /** Sum of uncompressed layer sizes (compressed sizes for images slipway did not write). */
  size: number;
}

export interface ImageRecord extends ImageSummary {
  config: ImageConfig;
}

/** Per-image facts stored as annotations on every index entry of that image. */
export interface ImageMeta {
  configDigest: Digest;
  size: number;
  created: string | undefined;
}

export function metaAnnotations(meta: ImageMeta): Record<string, string> {
  const a: Record<string, string> = {
    [ANNOTATION_CONFIG]: meta.configDigest,
    [ANNOTATION_SIZE]: String(meta.size),
  };
  if (meta.created !== undefined) a[ANNOTATION_CREATED] = meta.created;
  return a;
}

export function metaFromAnnotations(d: Descriptor): ImageMeta | undefined {
  const a = d.annotations;
  const config = a?.[ANNOTATION_CONFIG];
  const size = a?.[ANNOTATION_SIZE];
  if (config === undefined || size === undefined) return undefined;
  return { configDigest: config, size: Number(size), created: a?.[ANNOTATION_CREATED] };
}

/** Normalized form of a stored ref.name; foreign names that are not Docker refs are kept verbatim. */
export function normalizeStoredName(name: string): string {
  const r = tryParseDockerRef(name);
  return r ? formatReference(r) : name;
}

/** Group index entries by manifest digest, in first-seen order. */
export function groupEntries(idx: Index): Map<Digest, Descriptor[]> {
  const out = new Map<Digest, Descriptor[]>();
  for (const d of idx.manifests) {
    const list = out.get(d.digest);
    if (list) list.push(d);
    else out.set(d.digest, [d]);
  }
  return out;
}

export function namesOf(entries: readonly Descriptor[]): string[] {
  const names: string[] = [];
  for (const e of entries) {
    const n = refName(e);
    if (n !== undefined) names.push(normalizeStoredName(n));
  }
  return names;
}

export type Query =
  | { kind: 'name'; name: string }
  | { kind: 'digest'; digest: Digest; display: string }
  | { kind: 'id'; id: Digest }
  | { kind: 'prefix'; hex: string };

/**
 * How Docker reads an image argument: a full `sha256:<hex>` is an image ID; otherwise a reference
 * (`name[:tag]`, `name@sha256:<manifest digest>`); and when no name matches, a hex string of 1–64 chars
 * (optionally `sha256:`-prefixed) is an ID prefix. Returns candidates in that order.
 */
export function parseQuery(input: string): Query[] {
  const out: Query[] = [];
  if (/^sha256:[a-f0-9]{64}$/.test(input)) return [{ kind: 'id', id: input }];
  try {
    const r = parseReference(input);
    if (r.digest !== undefined) out.push({ kind: 'digest', digest: r.digest, display: input });
    else out.push({ kind: 'name', name: formatReference({ ...r, tag: r.tag ?? 'latest' }) });
  } catch {
    // not a reference: may still be an ID prefix
  }
  const m = /^(?:sha256:)?([a-f0-9]{1,64})$/.exec(input);
  if (m) out.push({ kind: 'prefix', hex: m[1]! });
  return out;
}

/** Pick the summary a query denotes; undefined when none matches. */
export function matchQuery(q: Query, all: readonly ImageSummary[], input: string): ImageSummary | undefined {
  switch (q.kind) {
    case 'name':
      return all.find((s) => s.names.includes(q.name));
    case 'digest':
      return all.find((s) => s.manifestDigest === q.digest);
    case 'id':
      return all.find((s) => s.id === q.id);
    case 'prefix': {
      const ids = new Set(all.filter((s) => s.id.startsWith(`sha256:${q.hex}`)).map((s) => s.id));
      if (ids.size > 1) {
        throw new SlipwayError('CONFLICT', `ambiguous image ID prefix ${input}: matches ${ids.size} images`);
      }
      const [id] = ids;
      // Several manifests may share a config; prefer the named one.
      const same = all.filter((s) => s.id === id);
      return same.find((s) => s.names.length > 0) ?? same[0];
    }
  }
}

/** Docker's "No such image" wording, with the familiar form of a valid reference. */
export function noSuchImage(input: string): SlipwayError {
  let shown = input;
  const r = tryParseDockerRef(input);
  if (r && !/^(?:sha256:)?[a-f0-9]{1,64}$/.test(input)) shown = familiarString(r);
  return new SlipwayError('NOT_FOUND', `No such image: ${shown}`);
}
