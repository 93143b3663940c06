import { createReadStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestHex, sha256Digest } from '../image/digest.js';
import { MediaType } from '../image/media-types.js';
import {
  familiarName,
  familiarString,
  formatReference,
  parseReference,
  type Reference,
  tryParseDockerRef,
} from '../image/reference.js';
import type { Manifest } from '../image/types.js';
import { END_OF_ARCHIVE, encodeHeader, padding, TYPEFLAG } from '../layer/tar-header.js';
import { SlipwayError } from '../errors.js';
import type { ImageRecord } from '../store/records.js';
import type { Store } from '../store/store.js';

export type SaveFormat = 'docker' | 'oci';

/** One image going into the archive with the names it is saved under. */
interface SaveItem {
  record: ImageRecord;
  manifest: Manifest;
  manifestBytes: Buffer;
  tags: Reference[];
}

const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * moby's tarexport parseNames: a bare repository saves all its tags, `name:tag` that tag, an ID (or
 * prefix) the image without names. Several arguments naming one image merge.
 */
async function selectImages(store: Store, names: readonly string[]): Promise<SaveItem[]> {
  const items = new Map<string, SaveItem>();
  const add = async (record: ImageRecord, ref?: Reference): Promise<void> => {
    let item = items.get(record.manifestDigest);
    if (!item) {
      const manifestBytes = await store.readBlob(record.manifestDigest);
      item = {
        record,
        manifest: JSON.parse(manifestBytes.toString('utf8')) as Manifest,
        manifestBytes,
        tags: [],
      };
      items.set(record.manifestDigest, item);
    }
    if (ref && !item.tags.some((t) => formatReference(t) === formatReference(ref))) item.tags.push(ref);
  };
  for (const name of names) {
    let raw: Reference | undefined;
    try {
      raw = parseReference(name);
    } catch {
      raw = undefined;
    }
    const isId = /^(?:sha256:)?[a-f0-9]{1,64}$/.test(name);
    if (raw && raw.tag === undefined && raw.digest === undefined && !isId) {
      const repo = `${raw.domain}/${raw.path}`;
      const hits = (await store.listImages()).flatMap((r) =>
        r.names.filter((n) => n.startsWith(`${repo}:`)).map((n) => ({ r, ref: tryParseDockerRef(n) })),
      );
      if (hits.length > 0) {
        for (const h of hits.sort((a, b) =>
          a.ref && b.ref ? formatReference(a.ref).localeCompare(formatReference(b.ref)) : 0,
        ))
          await add(h.r, h.ref);
        continue;
      }
    }
    const record = await store.tryResolve(name);
    if (!record) {
      // moby's parseNames: a name:tag or name@digest is looked up in the reference store, whose miss
      // reads "reference does not exist"; anything else is searched as given ("No such image: x").
      if (raw && !isId && (raw.tag !== undefined || raw.digest !== undefined))
        throw new SlipwayError('NOT_FOUND', 'reference does not exist');
      throw new SlipwayError('NOT_FOUND', `No such image: ${name}`);
    }
    const ref = raw && !isId && raw.digest === undefined ? tryParseDockerRef(name) : undefined;
    await add(record, ref && record.names.includes(formatReference(ref)) ? ref : undefined);
  }
  return [...items.values()];
}

type Member =
  | { name: string; dir: true }
  | { name: string; data: Buffer }
  | { name: string; path: string; size: number };

function json(v: unknown): Buffer {
  return Buffer.from(`${JSON.stringify(v)}\n`);
}

const DOCKER_LAYER_TYPE: Record<string, string> = {
  [MediaType.ociLayer]: MediaType.dockerLayer,
  [MediaType.ociLayerGzip]: MediaType.dockerLayerGzip,
  [MediaType.dockerLayer]: MediaType.dockerLayer,
  [MediaType.dockerLayerGzip]: MediaType.dockerLayerGzip,
};

/**
 * The image's manifest in Docker's schema 2 media types (what `save` writes), or undefined when
 * it already is one or has a layer Docker's types cannot name (zstd): then it is kept verbatim.
 */
export function dockerManifest(manifest: Manifest): Buffer | undefined {
  if (manifest.mediaType === MediaType.dockerManifest) return undefined;
  const layers = manifest.layers.map((l) => {
    const mediaType = DOCKER_LAYER_TYPE[l.mediaType];
    return mediaType ? { mediaType, size: l.size, digest: l.digest } : undefined;
  });
  if (layers.some((l) => l === undefined)) return undefined;
  return Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: {
          mediaType: MediaType.dockerConfig,
          size: manifest.config.size,
          digest: manifest.config.digest,
        },
        layers,
      },
      null,
      3,
    ),
  );
}

/**
 * The members of a `docker save` archive as Docker 25+ writes it: an OCI layout (oci-layout, index.json,
 * blobs/sha256/*) that also carries the legacy manifest.json and repositories, so both old (manifest.json)
 * and new (index.json) loaders read it. Config and layer blobs go in verbatim (the image ID is the same);
 * `docker` describes them in Docker's schema 2 media types, `oci` keeps the stored manifest and leaves
 * out the Docker files.
 */
async function archiveMembers(
  store: Store,
  items: readonly SaveItem[],
  format: SaveFormat,
): Promise<Member[]> {
  const blobs = new Map<string, Member>();
  const addBlob = async (digest: string, data?: Buffer): Promise<void> => {
    const hex = digestHex(digest);
    if (blobs.has(hex)) return;
    const name = `blobs/sha256/${hex}`;
    if (data) blobs.set(hex, { name, data });
    else {
      const size = (await store.blobs.size(digest)) ?? 0;
      blobs.set(hex, { name, path: store.blobPath(digest), size });
    }
  };
  const manifestJson: unknown[] = [];
  const repositories: Record<string, Record<string, string>> = {};
  const index: { schemaVersion: 2; mediaType: string; manifests: unknown[] } = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [],
  };
  for (const item of items) {
    const { manifest } = item;
    const converted = format === 'docker' ? dockerManifest(manifest) : undefined;
    const manifestBytes = converted ?? item.manifestBytes;
    const manifestDigest = converted ? sha256Digest(converted) : item.record.manifestDigest;
    await addBlob(manifestDigest, manifestBytes);
    await addBlob(manifest.config.digest, await store.readBlob(manifest.config.digest));
    for (const l of manifest.layers) await addBlob(l.digest);
    const desc = {
      mediaType: converted ? MediaType.dockerManifest : (manifest.mediaType ?? MediaType.ociManifest),
      digest: manifestDigest,
      size: manifestBytes.length,
    };
    if (item.tags.length === 0) index.manifests.push(desc);
    for (const t of item.tags) {
      const annotations =
        format === 'oci'
          ? { [ANNOTATION_IMAGE_NAME]: formatReference(t), [ANNOTATION_REF_NAME]: familiarString(t) }
          : { [ANNOTATION_IMAGE_NAME]: formatReference(t), [ANNOTATION_REF_NAME]: t.tag ?? 'latest' };
      index.manifests.push({ ...desc, annotations });
      const top = manifest.layers[manifest.layers.length - 1];
      if (top) {
        const repo = familiarName(t);
        repositories[repo] = { ...repositories[repo], [t.tag ?? 'latest']: digestHex(top.digest) };
      }
    }
    manifestJson.push({
      Config: `blobs/sha256/${digestHex(manifest.config.digest)}`,
      RepoTags: item.tags.length > 0 ? item.tags.map((t) => familiarString(t)) : null,
      Layers: manifest.layers.map((l) => `blobs/sha256/${digestHex(l.digest)}`),
    });
  }
  const members: Member[] = [
    { name: 'blobs/', dir: true },
    { name: 'blobs/sha256/', dir: true },
  ];
  members.push(...[...blobs.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, m]) => m));
  members.push({ name: 'index.json', data: json(index) });
  if (format === 'docker') members.push({ name: 'manifest.json', data: json(manifestJson) });
  members.push({ name: 'oci-layout', data: json({ imageLayoutVersion: '1.0.0' }) });
  if (format === 'docker' && Object.keys(repositories).length > 0) {
    members.push({ name: 'repositories', data: json(repositories) });
  }
  return members;
}

async function* tarStream(members: readonly Member[]): AsyncGenerator<Buffer> {
  for (const m of members) {
    const base = { name: m.name, uid: 0, gid: 0, mtime: 0 };
    if ('dir' in m) {
      yield* encodeHeader({ ...base, typeflag: TYPEFLAG.dir, mode: 0o755, size: 0 });
      continue;
    }
    const size = 'data' in m ? m.data.length : m.size;
    yield* encodeHeader({ ...base, typeflag: TYPEFLAG.file, mode: 0o644, size });
    if ('data' in m) yield m.data;
    else {
      let n = 0;
      for await (const chunk of createReadStream(m.path, { highWaterMark: 1 << 20 })) {
        n += (chunk as Buffer).length;
        yield chunk as Buffer;
      }
      if (n !== size) throw new Error(`blob ${m.name} changed size while saving`);
    }
    const pad = padding(size);
    if (pad.length > 0) yield pad;
  }
  yield END_OF_ARCHIVE;
}

/** Write the archive of `names` to `out` (not closed on error by us; pipeline does). */
export async function saveImages(
  store: Store,
  names: readonly string[],
  out: Writable,
  format: SaveFormat = 'docker',
): Promise<void> {
  const items = await selectImages(store, names);
  await store.pin(
    items.flatMap((i) => [
      i.record.manifestDigest,
      i.manifest.config.digest,
      ...i.manifest.layers.map((l) => l.digest),
    ]),
  );
  const members = await archiveMembers(store, items, format);
  await pipeline(Readable.from(tarStream(members)), out);
}
