import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { assertDigest, type Digest } from '../image/digest.js';
import {
  isIndexMediaType,
  isManifestMediaType,
  MediaType,
  toDockerMediaType,
  toOciMediaType,
} from '../image/media-types.js';
import { formatReference, parseDockerRef, parseReference } from '../image/reference.js';
import type { Descriptor, ImageConfig, Index, Manifest } from '../image/types.js';
import { type BlobInfo, type BlobSource, BlobStore, type WriteBlobOptions } from './blobs.js';
import { atomicWriteFile, isErrno } from './fsutil.js';
import { collectGarbage, type GcResult } from './gc.js';
import {
  ANNOTATION_DANGLING,
  ANNOTATION_REF_NAME,
  cleanStaleTemps,
  initLayout,
  emptyIndex,
  type IndexFile,
  indexStamp,
  indexText,
  parseIndex,
  readIndex,
  readIndexFile,
  refName,
  writeIndexText,
} from './layout.js';
import { Lease } from './leases.js';
import { withLock } from './lock.js';
import { StorePaths } from './paths.js';
import {
  groupEntries,
  type ImageMeta,
  type ImageRecord,
  type ImageSummary,
  matchQuery,
  metaAnnotations,
  metaFromAnnotations,
  namesOf,
  normalizeStoredName,
  noSuchImage,
  parseQuery,
} from './records.js';
import { SnapshotStore } from './snapshots.js';

export interface StoreOptions {
  /** Digests (blobs or snapshot chain IDs) gc must keep besides what images reference. */
  extraRoots?: () => Promise<string[]>;
  /** How long to wait for another process's index lock (default 120 s). */
  lockTimeoutMs?: number;
}

export interface PutImageInput {
  config: ImageConfig;
  /** Layer blobs, already in the store, in rootfs order. */
  layers: Descriptor[];
  /** Uncompressed size of each layer, for Docker's SIZE; defaults to the descriptor sizes. */
  uncompressedSizes?: number[];
  /** Manifest flavor: OCI (default) or Docker schema2; layer/config media types are converted to match. */
  mediaTypes?: 'oci' | 'docker';
  /** Manifest annotations (OCI only; Docker schema2 has none). */
  annotations?: Record<string, string>;
  /** Names to point at the image, in the same index.json update that records it. */
  tags?: string[];
}

/** The normalized name a tag reference stores as; digest references cannot be tags. */
function tagName(ref: string): string {
  if (parseReference(ref).digest !== undefined) {
    throw new SlipwayError('INVALID_REFERENCE', 'refusing to create a tag with a digest reference');
  }
  return formatReference(parseDockerRef(ref));
}

export interface PutImageResult {
  manifestDigest: Digest;
  /** = image ID. */
  configDigest: Digest;
  manifest: Manifest;
  /** Descriptor of the manifest blob (mediaType, digest, size). */
  descriptor: Descriptor;
  /** `tags`, normalized, in the order given. */
  names: string[];
}

export interface UntagResult {
  manifestDigest: Digest;
  configDigest: Digest;
  /** Names the image still has after the untag. */
  remainingNames: string[];
}

/**
 * The local image store: an OCI image layout at `<root>/oci` (readable in place by skopeo/umoci) plus
 * extracted layer snapshots at `<root>/snapshots`. Safe for several slipway processes on one root:
 * index.json changes take an exclusive lock file; blobs and snapshots are content addressed and written
 * lock-free (temp + rename) under per-process pins that gc honours. Crash order: blobs → manifest →
 * index.json, so no name ever points at a missing blob.
 */
export class Store {
  readonly paths: StorePaths;
  readonly blobs: BlobStore;
  readonly snapshots: SnapshotStore;
  private readonly lease: Lease;
  private index: Index;
  /** The index.json `index` was parsed from: text and file stamp. */
  private indexFile: IndexFile;
  private readonly configCache = new Map<Digest, ImageConfig>();
  private readonly metaCache = new Map<Digest, ImageMeta>();

  private constructor(
    readonly root: string,
    private readonly opts: StoreOptions,
    file: IndexFile,
  ) {
    this.paths = new StorePaths(root);
    this.lease = new Lease(this.paths.leases);
    this.blobs = new BlobStore(this.paths, this.lease);
    this.snapshots = new SnapshotStore(this.paths, this.lease);
    this.indexFile = file;
    this.index = parseIndex(this.paths, file.text);
  }

  /** Open (creating if needed) the store at `root`. Reads index.json only; no blobs. */
  static async open(root: string, opts: StoreOptions = {}): Promise<Store> {
    const paths = new StorePaths(root);
    let file = await readIndexFile(paths);
    if (file === undefined) {
      await initLayout(paths);
      file = (await readIndexFile(paths))!;
    }
    await cleanStaleTemps(paths);
    return new Store(root, opts, file);
  }

  /** index.json as it is on disk now: the text in hand when the file has not been replaced since. */
  private async currentIndexFile(): Promise<IndexFile> {
    const st = await stat(this.paths.indexFile).catch((e: unknown) => {
      if (isErrno(e, 'ENOENT')) return undefined;
      throw e;
    });
    if (st && indexStamp(st) === this.indexFile.stamp) return this.indexFile;
    return (await readIndexFile(this.paths)) ?? { text: indexText(emptyIndex()), stamp: '' };
  }

  /** Pick up other processes' index.json changes (cheap when nothing changed). */
  private async refresh(): Promise<Index> {
    const file = await this.currentIndexFile();
    if (file !== this.indexFile) {
      this.index = parseIndex(this.paths, file.text);
      this.indexFile = file;
    }
    return this.index;
  }

  /** Read-modify-write index.json under the cross-process lock. */
  private async updateIndex<T>(fn: (idx: Index) => Promise<T>): Promise<T> {
    return withLock(
      this.paths.indexLock,
      async () => {
        const file = await this.currentIndexFile();
        // A fresh parse: `fn` edits it, and a failing `fn` must leave `this.index` as it was.
        const idx = parseIndex(this.paths, file.text);
        const result = await fn(idx);
        const text = indexText(idx);
        // A no-op rebuild re-tags what is already tagged: nothing to write, nothing to fsync.
        if (text === file.text) {
          this.index = idx;
          this.indexFile = file;
          return result;
        }
        // Blob renames must be durable before index.json can name them (crash order: blobs → index).
        await this.blobs.syncDir();
        await writeIndexText(this.paths, text);
        this.index = idx;
        this.indexFile = { text, stamp: indexStamp(await stat(this.paths.indexFile)) };
        return result;
      },
      this.lockOpts(),
    );
  }

  private lockOpts(): { timeoutMs?: number } {
    return this.opts.lockTimeoutMs === undefined ? {} : { timeoutMs: this.opts.lockTimeoutMs };
  }

  // ---- blobs ----

  writeBlob(source: BlobSource, opts?: WriteBlobOptions): Promise<BlobInfo> {
    return this.blobs.write(source, opts);
  }

  /** Move a file under `<root>/tmp` that the caller wrote and hashed into the blob store (no copy). */
  adoptBlob(file: string, digest: Digest, size: number): Promise<BlobInfo> {
    return this.blobs.adopt(file, digest, size);
  }

  hasBlob(digest: Digest): Promise<boolean> {
    return this.blobs.has(digest);
  }

  blobPath(digest: Digest): string {
    return this.blobs.path(digest);
  }

  readBlob(digest: Digest): Promise<Buffer> {
    return this.blobs.read(digest);
  }

  /**
   * Keep these blobs / snapshot chain IDs from any process's gc while this Store is open. Pin BEFORE
   * checking `hasBlob`/`hasSnapshot` for content you are about to reuse. Writes pin automatically.
   */
  pin(digests: Iterable<Digest>): Promise<void> {
    return this.lease.pin(digests);
  }

  /** Drop this process's pins (the store stays usable). */
  close(): Promise<void> {
    return this.lease.release();
  }

  async readManifest(digest: Digest): Promise<Manifest> {
    const m = await this.blobs.readJson<Manifest>(digest);
    if (!m || typeof m !== 'object' || !m.config || !Array.isArray(m.layers)) {
      throw new SlipwayError('STORE', `blob ${digest} is not an image manifest`);
    }
    return m;
  }

  async readConfig(digest: Digest): Promise<ImageConfig> {
    const cached = this.configCache.get(digest);
    if (cached) return cached;
    const c = await this.blobs.readJson<ImageConfig>(digest);
    if (!c || typeof c !== 'object' || !c.rootfs || !Array.isArray(c.rootfs.diff_ids)) {
      throw new SlipwayError('STORE', `blob ${digest} is not an image config`);
    }
    this.configCache.set(digest, c);
    return c;
  }

  // ---- images ----

  /** Write config + manifest blobs for already-stored layers and record the image, named by `tags` (dangling without). */
  async putImage(input: PutImageInput): Promise<PutImageResult> {
    const names = (input.tags ?? []).map(tagName);
    const docker = input.mediaTypes === 'docker';
    const { config, layers } = input;
    if (!Array.isArray(config.rootfs?.diff_ids) || config.rootfs.diff_ids.length !== layers.length) {
      throw new SlipwayError(
        'STORE',
        `image config has ${config.rootfs?.diff_ids?.length ?? 0} diff_ids but ${layers.length} layers were given`,
      );
    }
    if (input.uncompressedSizes !== undefined && input.uncompressedSizes.length !== layers.length) {
      throw new SlipwayError('STORE', 'uncompressedSizes must have one entry per layer');
    }
    await this.lease.pin(layers.map((l) => l.digest));
    for (const l of layers) {
      assertDigest(l.digest, 'layer digest');
      if (!(await this.blobs.has(l.digest))) {
        throw new SlipwayError('NOT_FOUND', `layer blob ${l.digest} is not in the store`);
      }
    }
    const configDesc = await this.blobs.writeJson(
      config,
      docker ? MediaType.dockerConfig : MediaType.ociConfig,
    );
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: docker ? MediaType.dockerManifest : MediaType.ociManifest,
      config: configDesc,
      layers: layers.map((l) => ({
        ...l,
        mediaType: docker ? toDockerMediaType(l.mediaType) : toOciMediaType(l.mediaType),
      })),
    };
    if (!docker && input.annotations && Object.keys(input.annotations).length > 0) {
      manifest.annotations = input.annotations;
    }
    const descriptor = await this.blobs.writeJson(manifest, manifest.mediaType!);
    const sizes = input.uncompressedSizes ?? layers.map((l) => l.size);
    const meta: ImageMeta = {
      configDigest: configDesc.digest,
      size: sizes.reduce((a, b) => a + b, 0),
      created: config.created,
    };
    this.metaCache.set(descriptor.digest, meta);
    this.configCache.set(configDesc.digest, config);
    // A no-op rebuild names what its names already point at: the index in hand says so without the
    // lock and a read, parse and serialization of index.json (a large store's is half a megabyte).
    const current = await this.refresh();
    const recorded = current.manifests.some((d) => d.digest === descriptor.digest);
    const named = names.every((n) =>
      current.manifests.some((d) => d.digest === descriptor.digest && refName(d) === n),
    );
    if (!recorded || !named) {
      await this.updateIndex(async (idx) => {
        if (!idx.manifests.some((d) => d.digest === descriptor.digest))
          idx.manifests.push(danglingEntry(descriptor, meta));
        for (const name of names) await this.applyTag(idx, name, descriptor.digest);
      });
    }
    return {
      manifestDigest: descriptor.digest,
      configDigest: configDesc.digest,
      manifest,
      descriptor,
      names,
    };
  }

  /**
   * Record an image whose manifest (and config, layers) blobs were written directly, e.g. pulled bytes
   * kept verbatim. Unnamed until tagged; a no-op if the manifest is already recorded.
   */
  async registerImage(
    manifestDigest: Digest,
    opts: { uncompressedSizes?: number[] } = {},
  ): Promise<ImageRecord> {
    const desc = await this.verifyComplete(manifestDigest);
    const meta = await this.computeMeta(manifestDigest, opts.uncompressedSizes);
    await this.updateIndex(async (idx) => {
      if (!idx.manifests.some((d) => d.digest === manifestDigest))
        idx.manifests.push(danglingEntry(desc, meta));
    });
    return (await this.getByManifest(manifestDigest))!;
  }

  /**
   * Before an index entry may name a manifest it did not come from putImage: pin it and everything it
   * references, and check all of it is stored (no name may point at a missing blob).
   */
  private async verifyComplete(manifestDigest: Digest): Promise<Descriptor> {
    await this.lease.pin([manifestDigest]);
    const desc = await this.manifestDescriptor(manifestDigest);
    const m = await this.readManifest(manifestDigest);
    const refs = [m.config, ...m.layers].map((d) => d.digest);
    await this.lease.pin(refs);
    for (const d of refs) {
      if (!(await this.blobs.has(d))) {
        throw new SlipwayError(
          'NOT_FOUND',
          `image ${manifestDigest} is incomplete: blob ${d} is not in the store`,
        );
      }
    }
    return desc;
  }

  private async manifestDescriptor(digest: Digest): Promise<Descriptor> {
    const bytes = await this.blobs.read(digest);
    let mt: string | undefined;
    try {
      mt = (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType;
    } catch {
      throw new SlipwayError('STORE', `blob ${digest} is not a manifest`);
    }
    if (mt !== undefined && !isManifestMediaType(mt)) {
      throw new SlipwayError('STORE', `blob ${digest} has media type ${mt}, want an image manifest`);
    }
    return { mediaType: mt ?? MediaType.ociManifest, digest, size: bytes.length };
  }

  private async computeMeta(manifestDigest: Digest, uncompressed?: number[]): Promise<ImageMeta> {
    const cached = this.metaCache.get(manifestDigest);
    if (cached && uncompressed === undefined) return cached;
    const m = await this.readManifest(manifestDigest);
    const cfg = await this.readConfig(m.config.digest);
    const sizes = uncompressed ?? m.layers.map((l) => l.size);
    const meta = {
      configDigest: m.config.digest,
      size: sizes.reduce((a, b) => a + b, 0),
      created: cfg.created,
    };
    this.metaCache.set(manifestDigest, meta);
    return meta;
  }

  private async metaOf(entries: readonly Descriptor[]): Promise<ImageMeta> {
    for (const e of entries) {
      const m = metaFromAnnotations(e);
      if (m) return m;
    }
    return this.computeMeta(entries[0]!.digest);
  }

  /** One summary per recorded manifest (named or dangling). Index entries that are not images are skipped. */
  async summaries(): Promise<ImageSummary[]> {
    return this.summariesOf(groupEntries(await this.refresh()));
  }

  private async summariesOf(groups: Map<Digest, Descriptor[]>): Promise<ImageSummary[]> {
    const out: ImageSummary[] = [];
    for (const [digest, entries] of groups) {
      const first = entries[0]!;
      if (isIndexMediaType(first.mediaType)) continue;
      // Entries slipway wrote carry their meta: a store of a thousand images costs no await per image.
      let meta = entries.map(metaFromAnnotations).find((m) => m !== undefined);
      if (!meta) {
        try {
          meta = await this.computeMeta(first.digest);
        } catch {
          continue; // foreign entry whose blobs are unreadable: not an image we can show
        }
      }
      out.push({
        id: meta.configDigest,
        configDigest: meta.configDigest,
        manifestDigest: digest,
        manifestMediaType: first.mediaType,
        manifestSize: first.size,
        names: namesOf(entries),
        created: meta.created,
        size: meta.size,
      });
    }
    return out;
  }

  private async withConfig(s: ImageSummary): Promise<ImageRecord> {
    return { ...s, config: await this.readConfig(s.configDigest) };
  }

  /** Every image, newest first (as `docker images`); dangling ones have `names: []`. */
  async listImages(): Promise<ImageRecord[]> {
    const all = await this.summaries();
    all.sort((a, b) => (b.created ?? '').localeCompare(a.created ?? ''));
    return Promise.all(all.map((s) => this.withConfig(s)));
  }

  /** The recorded image with this manifest digest, or undefined. */
  async getByManifest(manifestDigest: Digest): Promise<ImageRecord | undefined> {
    const hit = (await this.summaries()).find((s) => s.manifestDigest === manifestDigest);
    return hit ? this.withConfig(hit) : undefined;
  }

  /** The image `input` denotes, or undefined. Throws CONFLICT for an ambiguous ID prefix. */
  async tryResolve(input: string): Promise<ImageRecord | undefined> {
    const queries = parseQuery(input);
    const first = queries[0];
    if (first?.kind === 'name') {
      // slipway stores names normalized: an exact match needs only that image's summary, not the
      // whole store's (foreign, unnormalized names fall through to the full lookup).
      const idx = await this.refresh();
      const hit = idx.manifests.find((d) => refName(d) === first.name);
      if (hit) {
        const [summary] = await this.summariesOf(
          new Map([[hit.digest, idx.manifests.filter((d) => d.digest === hit.digest)]]),
        );
        if (summary) return this.withConfig(summary);
      }
    }
    const all = await this.summaries();
    for (const q of queries) {
      const hit = matchQuery(q, all, input);
      if (hit) return this.withConfig(hit);
    }
    return undefined;
  }

  /**
   * Docker's image lookup: a name (`python`, `python:3.11`, `docker.io/library/python:3.11`), a full image ID
   * `sha256:<hex>`, a unique ID prefix (`3f2a1b`, `sha256:3f2a`), or `name@sha256:<manifest digest>`.
   * NOT_FOUND "No such image: …" when nothing matches.
   */
  async resolve(input: string): Promise<ImageRecord> {
    const r = await this.tryResolve(input);
    if (!r) throw noSuchImage(input);
    return r;
  }

  /**
   * Point `ref` (normalized, `:latest` by default) at a recorded manifest. An image that loses its last
   * name this way stays as a dangling image, like Docker's `<none>`.
   */
  async tag(ref: string, manifestDigest: Digest): Promise<string> {
    assertDigest(manifestDigest, 'manifest digest');
    const name = tagName(ref);
    await this.updateIndex((idx) => this.applyTag(idx, name, manifestDigest));
    return name;
  }

  private async applyTag(idx: Index, name: string, manifestDigest: Digest): Promise<void> {
    const groups = groupEntries(idx);
    const target = groups.get(manifestDigest);
    let desc: Descriptor;
    let meta: ImageMeta;
    if (target) {
      desc = { mediaType: target[0]!.mediaType, digest: manifestDigest, size: target[0]!.size };
      meta = await this.metaOf(target);
    } else {
      desc = await this.verifyComplete(manifestDigest);
      meta = await this.computeMeta(manifestDigest);
    }
    const losers = new Set<Digest>();
    idx.manifests = idx.manifests.filter((d) => {
      const n = refName(d);
      if (n !== undefined && normalizeStoredName(n) === name) {
        losers.add(d.digest);
        return false;
      }
      return !(d.digest === manifestDigest && n === undefined);
    });
    idx.manifests.push({ ...desc, annotations: { [ANNOTATION_REF_NAME]: name, ...metaAnnotations(meta) } });
    for (const old of losers) {
      if (old === manifestDigest || idx.manifests.some((d) => d.digest === old)) continue;
      const oldEntries = groups.get(old)!;
      idx.manifests.push(danglingEntry(oldEntries[0]!, await this.metaOf(oldEntries)));
    }
  }

  /** Remove one name; the image stays (dangling if it was its last name). NOT_FOUND if `ref` names nothing. */
  async untag(ref: string): Promise<UntagResult> {
    const name = formatReference(parseDockerRef(ref));
    return this.updateIndex(async (idx) => {
      const hit = idx.manifests.find((d) => {
        const n = refName(d);
        return n !== undefined && normalizeStoredName(n) === name;
      });
      if (!hit) throw noSuchImage(ref);
      const entries = groupEntries(idx).get(hit.digest)!;
      const meta = await this.metaOf(entries);
      idx.manifests = idx.manifests.filter((d) => d !== hit);
      const rest = idx.manifests.filter((d) => d.digest === hit.digest);
      if (rest.length === 0) idx.manifests.push(danglingEntry(hit, meta));
      return { manifestDigest: hit.digest, configDigest: meta.configDigest, remainingNames: namesOf(rest) };
    });
  }

  /** Forget an image entirely (all its names). Blobs go at the next gc(). Returns the removed names. */
  async deleteImage(manifestDigest: Digest): Promise<string[]> {
    return this.updateIndex(async (idx) => {
      const entries = idx.manifests.filter((d) => d.digest === manifestDigest);
      if (entries.length === 0) throw new SlipwayError('NOT_FOUND', `No such image: ${manifestDigest}`);
      idx.manifests = idx.manifests.filter((d) => d.digest !== manifestDigest);
      return namesOf(entries);
    });
  }

  // ---- gc roots ----

  /** Replace the named pin set `roots/<name>.json` (e.g. name 'buildcache'); gc keeps these digests. */
  async setRoots(name: string, digests: readonly Digest[]): Promise<void> {
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new SlipwayError('STORE', `invalid roots name ${name}`);
    for (const d of digests) assertDigest(d);
    await atomicWriteFile(join(this.paths.roots, `${name}.json`), `${JSON.stringify([...digests])}\n`);
  }

  async removeRoots(name: string): Promise<void> {
    await unlink(join(this.paths.roots, `${name}.json`)).catch((e: unknown) => {
      if (!isErrno(e, 'ENOENT')) throw e;
    });
  }

  private async allRoots(): Promise<string[]> {
    const out: string[] = [];
    for (const f of await readdir(this.paths.roots).catch(() => [] as string[])) {
      if (!f.endsWith('.json')) continue;
      try {
        const list = JSON.parse(await readFile(join(this.paths.roots, f), 'utf8')) as unknown;
        if (Array.isArray(list)) for (const d of list) if (typeof d === 'string') out.push(d);
      } catch {
        // a torn roots file cannot exist (atomic writes); anything else unparsable pins nothing
      }
    }
    if (this.opts.extraRoots) out.push(...(await this.opts.extraRoots()));
    return out;
  }

  /**
   * Delete blobs and snapshots no image, pin set, extraRoots hook or live process's pin references.
   * Holds the index lock throughout; concurrent writers are protected by their pins (see gc.ts).
   */
  async gc(opts: { snapshots?: boolean } = {}): Promise<GcResult> {
    return withLock(
      this.paths.indexLock,
      async () => {
        const idx = (await readIndex(this.paths)) ?? { schemaVersion: 2, manifests: [] };
        return collectGarbage({
          paths: this.paths,
          blobs: this.blobs,
          manifests: new Set(idx.manifests.map((d) => d.digest)),
          roots: await this.allRoots(),
          snapshots: opts.snapshots ?? true,
        });
      },
      this.lockOpts(),
    );
  }

  // ---- snapshots ----

  snapshotPath(chainId: Digest): string {
    return this.snapshots.path(chainId);
  }

  hasSnapshot(chainId: Digest): Promise<boolean> {
    return this.snapshots.has(chainId);
  }

  createSnapshotTemp(): Promise<string> {
    return this.snapshots.createTemp();
  }

  commitSnapshot(tempDir: string, chainId: Digest): Promise<boolean> {
    return this.snapshots.commit(tempDir, chainId);
  }

  removeSnapshot(chainId: Digest): Promise<boolean> {
    return this.snapshots.remove(chainId);
  }
}

function danglingEntry(desc: Descriptor, meta: ImageMeta): Descriptor {
  return {
    mediaType: desc.mediaType,
    digest: desc.digest,
    size: desc.size,
    annotations: { [ANNOTATION_DANGLING]: 'true', ...metaAnnotations(meta) },
  };
}
