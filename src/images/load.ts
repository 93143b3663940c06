import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { SlipwayError } from '../errors.js';
import { type Digest, isDigest, sha256Digest } from '../image/digest.js';
import { isIndexMediaType, MediaType } from '../image/media-types.js';
import { familiarString, formatReference, tryParseDockerRef } from '../image/reference.js';
import type { Descriptor, ImageConfig, Index, Manifest } from '../image/types.js';
import { decompressedFile, decompressor, detectCompression } from '../layer/compress.js';
import { importedBytes } from '../layer/content-size.js';
import { TYPEFLAG } from '../layer/tar-header.js';
import { readTar } from '../layer/tar-reader.js';
import type { Compression } from '../layer/types.js';
import type { Store } from '../store/store.js';

/** What `docker load` reports for one image. */
export interface LoadedImage {
  id: Digest;
  manifestDigest: Digest;
  /** Familiar names it was tagged with (empty: "Loaded image ID"). */
  names: string[];
  /** Names that pointed at another image before (Docker prints a "renaming" notice). */
  renamed: { name: string; oldId: Digest }[];
}

/** Files up to this size are kept in memory (JSON documents); larger ones stream straight into the store. */
const SMALL = 1 << 20;

interface Stored {
  digest: Digest;
  size: number;
  compression: Compression;
}

class Archive {
  readonly small = new Map<string, Buffer>();
  readonly large = new Map<string, Stored>();
  readonly links = new Map<string, string>();

  constructor(private readonly store: Store) {}

  /** Follow symlinks (Docker's legacy archives link duplicate layer.tar files). */
  resolve(name: string): string {
    let n = posix.normalize(name).replace(/^\.?\//, '');
    for (let i = 0; i < 16; i++) {
      const target = this.links.get(n);
      if (target === undefined) return n;
      n = posix.normalize(posix.join(posix.dirname(n), target)).replace(/^\.?\//, '');
    }
    throw new SlipwayError('LAYER', `load: too many levels of symbolic links at ${name}`);
  }

  has(name: string): boolean {
    const n = this.resolve(name);
    return this.small.has(n) || this.large.has(n);
  }

  text(name: string): Buffer {
    const n = this.resolve(name);
    const b = this.small.get(n);
    if (b) return b;
    // Metadata is read from memory; a member past SMALL went to the store as a would-be layer.
    const big = this.large.get(n);
    if (big) {
      throw new SlipwayError('LAYER', `load: ${name} is too large (${big.size} bytes) to be image metadata`);
    }
    throw new SlipwayError('LAYER', `load: ${name} is missing from the archive`);
  }

  json<T>(name: string): T {
    try {
      return JSON.parse(this.text(name).toString('utf8')) as T;
    } catch (e) {
      if (e instanceof SlipwayError) throw e;
      throw new SlipwayError('LAYER', `load: ${name} is not valid JSON`);
    }
  }

  /** The member as a store blob (written now if it was held in memory). */
  async blob(name: string): Promise<Stored> {
    const n = this.resolve(name);
    const big = this.large.get(n);
    if (big) return big;
    const data = this.small.get(n);
    if (!data) throw new SlipwayError('LAYER', `load: ${name} is missing from the archive`);
    const info = await this.store.writeBlob(data);
    const s = { ...info, compression: detectCompression(data.subarray(0, 4)) };
    this.large.set(n, s);
    return s;
  }
}

async function* withHead(body: AsyncIterable<Buffer>, head: { bytes?: Buffer }): AsyncGenerator<Buffer> {
  for await (const chunk of body) {
    if (!head.bytes) head.bytes = chunk.subarray(0, 4);
    yield chunk;
  }
}

async function readArchive(store: Store, input: Readable): Promise<Archive> {
  const archive = new Archive(store);
  const it = input[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw new SlipwayError('LAYER', 'load: the archive is empty');
  const head = Buffer.from(first.value as Buffer);
  async function* rest(): AsyncGenerator<Buffer> {
    yield head;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield Buffer.from(r.value as Buffer);
    }
  }
  let source: AsyncIterable<Buffer> = rest();
  const compression = detectCompression(head);
  if (compression !== 'none') {
    const codec = decompressor(compression);
    const feed = rest();
    (async () => {
      try {
        for await (const c of feed)
          if (!codec.stream.write(c)) await new Promise((r) => codec.stream.once('drain', r));
        codec.stream.end();
      } catch (e) {
        codec.stream.destroy(e as Error);
      }
    })();
    source = codec.stream as AsyncIterable<Buffer>;
  }
  for await (const entry of readTar(source)) {
    const h = entry.header;
    const name = posix
      .normalize(h.name)
      .replace(/^\.?\//, '')
      .replace(/\/$/, '');
    if (h.typeflag === TYPEFLAG.symlink) {
      archive.links.set(name, h.linkname);
      continue;
    }
    if (h.typeflag === TYPEFLAG.hardlink) {
      archive.links.set(name, posix.relative(posix.dirname(name), h.linkname.replace(/^\.?\//, '')));
      continue;
    }
    if (h.typeflag !== TYPEFLAG.file && h.typeflag !== 0 && h.typeflag !== TYPEFLAG.contiguous) continue;
    if (h.size <= SMALL) {
      const parts: Buffer[] = [];
      for await (const c of entry.body()) parts.push(c);
      archive.small.set(name, Buffer.concat(parts));
    } else {
      const headBytes: { bytes?: Buffer } = {};
      const info = await store.writeBlob(withHead(entry.body(), headBytes));
      archive.large.set(name, {
        ...info,
        compression: detectCompression(headBytes.bytes ?? Buffer.alloc(0)),
      });
    }
  }
  return archive;
}

/**
 * sha256 of a stored blob's uncompressed content (its diff ID) and the layer's Docker SIZE. dockerd
 * sizes a loaded layer by walking the unpacked tree (lstat sizes: regular files once per inode, plus
 * symlink targets), not by the tar's length, which for small files is mostly headers and padding.
 */
async function diffIdOf(store: Store, blob: Stored): Promise<{ diffId: Digest; size: number }> {
  const { content, done } = decompressedFile(store.blobPath(blob.digest), blob.compression);
  const h = createHash('sha256');
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const c of content) {
      h.update(c);
      yield c;
    }
  }
  let size = 0;
  for await (const member of readTar(hashed())) size += importedBytes(member.header);
  await done;
  return { diffId: `sha256:${h.digest('hex')}`, size };
}

function layerMediaType(c: Compression): string {
  return c === 'gzip' ? MediaType.ociLayerGzip : c === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer;
}

/** Blob paths in OCI layouts name their digest: the content must hash to it. */
function expectDigestFromPath(name: string, got: Digest): void {
  const m = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/.exec(name);
  if (m && `${m[1]}:${m[2]}` !== got) {
    throw new SlipwayError('LAYER', `load: ${name}: content digest ${got} does not match its name`);
  }
}

interface Candidate {
  configName: string;
  layerNames: string[];
  names: string[];
  /** A manifest to keep verbatim when it matches (from index.json). */
  manifestBytes?: Buffer;
}

async function importCandidate(
  store: Store,
  archive: Archive,
  c: Candidate,
): Promise<{ id: Digest; manifestDigest: Digest }> {
  const configBytes = archive.text(c.configName);
  const configDigest = sha256Digest(configBytes);
  expectDigestFromPath(archive.resolve(c.configName), configDigest);
  let config: ImageConfig;
  try {
    config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
  } catch {
    throw new SlipwayError('LAYER', `load: ${c.configName} is not valid JSON`);
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== c.layerNames.length) {
    throw new SlipwayError(
      'LAYER',
      `load: image config lists ${diffIds.length} layers but the archive has ${c.layerNames.length}`,
    );
  }
  const layers: Descriptor[] = [];
  const sizes: number[] = [];
  for (const [i, name] of c.layerNames.entries()) {
    const blob = await archive.blob(name);
    expectDigestFromPath(archive.resolve(name), blob.digest);
    const { diffId, size } = await diffIdOf(store, blob);
    if (diffId !== diffIds[i]) {
      throw new SlipwayError(
        'LAYER',
        `load: invalid diffID for layer ${i}: calculated ${diffId}, expected ${diffIds[i]}`,
      );
    }
    layers.push({ mediaType: layerMediaType(blob.compression), digest: blob.digest, size: blob.size });
    sizes.push(size);
  }
  await store.writeBlob(configBytes, { digest: configDigest, size: configBytes.length });
  let manifestBytes = c.manifestBytes;
  if (manifestBytes) {
    const m = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
    const same =
      m.config?.digest === configDigest &&
      m.layers?.length === layers.length &&
      m.layers.every((l, i) => l.digest === layers[i]!.digest);
    if (!same) manifestBytes = undefined;
  }
  if (!manifestBytes) {
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: configDigest, size: configBytes.length },
      layers,
    };
    manifestBytes = Buffer.from(JSON.stringify(manifest));
  }
  const info = await store.writeBlob(manifestBytes);
  await store.registerImage(info.digest, { uncompressedSizes: sizes });
  return { id: configDigest, manifestDigest: info.digest };
}

/** Image names an OCI index entry carries: containerd's full name, else a ref.name that is a full reference. */
function ociEntryName(d: Descriptor): string | undefined {
  const a = d.annotations ?? {};
  const full = a['io.containerd.image.name'];
  if (full && tryParseDockerRef(full)) return full;
  const ref = a['org.opencontainers.image.ref.name'];
  if (ref && /[:/]/.test(ref) && tryParseDockerRef(ref)) return ref;
  return undefined;
}

function candidatesFromManifestJson(archive: Archive): Candidate[] {
  const items =
    archive.json<Array<{ Config?: string; RepoTags?: string[] | null; Layers?: string[] }>>('manifest.json');
  if (!Array.isArray(items)) throw new SlipwayError('LAYER', 'load: manifest.json is not a list');
  // index.json (Docker 25+) names the manifests; keep them verbatim when they match.
  const byConfig = new Map<string, Buffer>();
  if (archive.has('index.json')) {
    try {
      for (const d of archive.json<Index>('index.json').manifests ?? []) {
        const name = `blobs/sha256/${d.digest.replace(/^sha256:/, '')}`;
        if (!archive.has(name)) continue;
        const bytes = archive.text(name);
        const m = JSON.parse(bytes.toString('utf8')) as Manifest;
        if (m.config?.digest) byConfig.set(m.config.digest, bytes);
      }
    } catch {
      // index.json is an extra here; manifest.json is authoritative
    }
  }
  return items.map((it) => {
    if (
      typeof it !== 'object' ||
      it === null ||
      typeof it.Config !== 'string' ||
      !Array.isArray(it.Layers) ||
      !it.Layers.every((l) => typeof l === 'string') ||
      !(it.RepoTags === undefined || it.RepoTags === null || Array.isArray(it.RepoTags))
    ) {
      throw new SlipwayError(
        'LAYER',
        'load: a manifest.json entry lacks Config or Layers, or has malformed ones',
      );
    }
    const cfgDigest = sha256Digest(archive.text(it.Config));
    const names = (it.RepoTags ?? []).filter((n): n is string => typeof n === 'string');
    const c: Candidate = { configName: it.Config, layerNames: it.Layers, names };
    const m = byConfig.get(cfgDigest);
    if (m) c.manifestBytes = m;
    return c;
  });
}

function candidatesFromIndex(archive: Archive): Candidate[] {
  const out: Candidate[] = [];
  const byDigest = new Map<string, Candidate>();
  const visit = (d: Descriptor, name: string | undefined, depth: number): void => {
    if (!isDigest(d.digest) || depth > 4) return;
    const path = `blobs/sha256/${d.digest.slice(7)}`;
    if (isIndexMediaType(d.mediaType)) {
      const idx = archive.json<Index>(path);
      const host = process.arch === 'x64' ? 'amd64' : process.arch;
      const pick = manifestsOf(idx, path).filter(
        (m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === host),
      );
      for (const m of pick.slice(0, 1)) visit(m, name, depth + 1);
      return;
    }
    const bytes = archive.text(path);
    expectDigestFromPath(path, sha256Digest(bytes));
    const m = JSON.parse(bytes.toString('utf8')) as Manifest;
    if (
      typeof m !== 'object' ||
      m === null ||
      !isDigest(String(m.config?.digest)) ||
      !Array.isArray(m.layers) ||
      !m.layers.every((l) => isDigest(String(l?.digest)))
    ) {
      throw new SlipwayError(
        'LAYER',
        `load: manifest ${d.digest} lacks a config or layers, or has malformed ones`,
      );
    }
    let c = byDigest.get(d.digest);
    if (!c) {
      c = {
        configName: `blobs/sha256/${m.config.digest.slice(7)}`,
        layerNames: m.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
        names: [],
        manifestBytes: bytes,
      };
      byDigest.set(d.digest, c);
      out.push(c);
    }
    if (name && !c.names.includes(name)) c.names.push(name);
  };
  for (const d of manifestsOf(archive.json<Index>('index.json'), 'index.json')) visit(d, ociEntryName(d), 0);
  if (out.length === 0) throw new SlipwayError('LAYER', 'load: index.json names no image manifest');
  return out;
}

function manifestsOf(index: Index, name: string): Descriptor[] {
  const list = (index as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(list) || !list.every((d) => typeof d === 'object' && d !== null)) {
    throw new SlipwayError('LAYER', `load: ${name} has no list of manifests`);
  }
  return list as Descriptor[];
}

/** `docker load`: a docker-archive (manifest.json) or OCI layout tar, plain or compressed. */
export async function loadArchive(store: Store, input: Readable): Promise<LoadedImage[]> {
  const archive = await readArchive(store, input);
  let candidates: Candidate[];
  if (archive.has('manifest.json')) candidates = candidatesFromManifestJson(archive);
  else if (archive.has('index.json')) candidates = candidatesFromIndex(archive);
  else
    throw new SlipwayError(
      'LAYER',
      'load: the archive has neither manifest.json nor index.json: not an image archive',
    );
  const loaded: LoadedImage[] = [];
  for (const c of candidates) {
    const { id, manifestDigest } = await importCandidate(store, archive, c);
    const names: string[] = [];
    const renamed: LoadedImage['renamed'] = [];
    for (const n of c.names) {
      const ref = tryParseDockerRef(n);
      if (!ref || ref.digest !== undefined) continue;
      const old = await store.tryResolve(formatReference(ref));
      if (old && old.id !== id) renamed.push({ name: familiarString(ref), oldId: old.id });
      await store.tag(formatReference(ref), manifestDigest);
      names.push(familiarString(ref));
    }
    loaded.push({ id, manifestDigest, names, renamed });
  }
  return loaded;
}
