import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SlipwayError } from '../../errors.js';
import { digestHex, sha256Digest } from '../../image/digest.js';
import { MediaType } from '../../image/media-types.js';
import type { Descriptor, Index } from '../../image/types.js';
import { atomicCreateFile, atomicWriteFile, fsyncDir, isErrno, tempName } from '../../store/fsutil.js';
import { ANNOTATION_REF_NAME } from '../../store/layout.js';
import type { BuiltCache } from './format.js';
import type { CacheSource, CacheTarget } from './transport.js';

/** BuildKit's local cache names its manifest with this tag unless `tag=` says otherwise. */
export const DEFAULT_LOCAL_TAG = 'latest';

function blobFile(dir: string, digest: string): string {
  return join(dir, 'blobs', 'sha256', digestHex(digest));
}

async function readLayoutIndex(dir: string): Promise<Index | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, 'index.json'), 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return undefined;
    throw e;
  }
  try {
    const idx = JSON.parse(text) as Index;
    if (Array.isArray(idx.manifests)) return idx;
  } catch {}
  throw new SlipwayError('BUILD', `${join(dir, 'index.json')} is not an OCI image index`);
}

/**
 * An OCI image layout directory (index.json, oci-layout, blobs/sha256/…). Blobs go in by temp file +
 * rename and are skipped when present with the right size; index.json is replaced last, keeping
 * entries of other tags, so a reader never sees a name for a manifest whose blobs are missing.
 */
export class LocalTarget implements CacheTarget {
  readonly name: string;
  private dirty = false;

  constructor(
    private readonly dir: string,
    private readonly tag: string = DEFAULT_LOCAL_TAG,
  ) {
    this.name = `local ${dir}`;
  }

  private async prepare(): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await atomicCreateFile(
      join(this.dir, 'oci-layout'),
      `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`,
    );
  }

  async hasBlob(d: Descriptor): Promise<boolean> {
    const st = await stat(blobFile(this.dir, d.digest)).catch(() => undefined);
    return st?.isFile() === true && st.size === d.size;
  }

  async putBlob(d: Descriptor, content: { path: string } | { bytes: Buffer }): Promise<void> {
    await this.prepare();
    const dest = blobFile(this.dir, d.digest);
    const tmp = join(this.dir, 'blobs', 'sha256', tempName('.blob'));
    try {
      if ('path' in content) await copyFile(content.path, tmp);
      else await writeFile(tmp, content.bytes, { flag: 'wx' });
      const fh = await open(tmp, 'r+');
      try {
        if ((await fh.stat()).size !== d.size) {
          throw new SlipwayError('STORE', `blob ${d.digest} changed while being copied`);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, dest);
      this.dirty = true;
    } catch (e) {
      await unlink(tmp).catch(() => {});
      throw e;
    }
  }

  async putManifest(built: BuiltCache): Promise<void> {
    await this.prepare();
    const { manifestDescriptor: desc } = built;
    if (!(await this.hasBlob(desc))) await this.putBlob(desc, { bytes: built.manifestBytes });
    // Blob renames must be durable before index.json names them.
    if (this.dirty) await fsyncDir(join(this.dir, 'blobs', 'sha256'));
    const idx: Index = (await readLayoutIndex(this.dir)) ?? {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: [],
    };
    idx.manifests = idx.manifests.filter((m) => m.annotations?.[ANNOTATION_REF_NAME] !== this.tag);
    idx.manifests.push({
      mediaType: desc.mediaType,
      digest: desc.digest,
      size: desc.size,
      artifactType: built.manifest.artifactType!,
      annotations: { [ANNOTATION_REF_NAME]: this.tag },
    });
    await atomicWriteFile(join(this.dir, 'index.json'), `${JSON.stringify(idx)}\n`);
  }
}

export class LocalSource implements CacheSource {
  readonly name: string;

  constructor(
    private readonly dir: string,
    private readonly select: { tag?: string; digest?: string } = {},
  ) {
    this.name = `local ${dir}`;
  }

  async manifest(): Promise<Buffer> {
    const idx = await readLayoutIndex(this.dir);
    if (!idx) throw new SlipwayError('NOT_FOUND', `${join(this.dir, 'index.json')}: no such file`);
    const entry = this.pick(idx);
    const bytes = await readFile(blobFile(this.dir, entry.digest)).catch((e: unknown) => {
      if (isErrno(e, 'ENOENT'))
        throw new SlipwayError('NOT_FOUND', `cache manifest ${entry.digest} is missing from ${this.dir}`);
      throw e;
    });
    if (sha256Digest(bytes) !== entry.digest) {
      throw new SlipwayError(
        'STORE',
        `cache manifest ${entry.digest} in ${this.dir} does not match its digest`,
      );
    }
    return bytes;
  }

  private pick(idx: Index): Descriptor {
    const { digest } = this.select;
    if (digest !== undefined) {
      const hit = idx.manifests.find((m) => m.digest === digest);
      if (!hit) throw new SlipwayError('NOT_FOUND', `no cache manifest ${digest} in ${this.dir}`);
      return hit;
    }
    const tag = this.select.tag ?? DEFAULT_LOCAL_TAG;
    const named = idx.manifests.find((m) => m.annotations?.[ANNOTATION_REF_NAME] === tag);
    if (named) return named;
    // A layout written by another tool may hold a single unnamed manifest.
    const only = idx.manifests.length === 1 ? idx.manifests[0]! : undefined;
    if (this.select.tag === undefined && only && only.annotations?.[ANNOTATION_REF_NAME] === undefined)
      return only;
    throw new SlipwayError('NOT_FOUND', `no cache manifest tagged "${tag}" in ${this.dir}`);
  }

  async *blob(d: Descriptor): AsyncIterable<Buffer> {
    const path = blobFile(this.dir, d.digest);
    const st = await stat(path).catch(() => undefined);
    if (!st?.isFile()) throw new SlipwayError('NOT_FOUND', `blob ${d.digest} is missing from ${this.dir}`);
    yield* createReadStream(path) as AsyncIterable<Buffer>;
  }
}
