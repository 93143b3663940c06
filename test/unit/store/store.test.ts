import assert from 'node:assert/strict';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isSlipwayError } from '../../../src/errors.js';
import { chainIds } from '../../../src/image/chain.js';
import { sha256Digest } from '../../../src/image/digest.js';
import { MediaType } from '../../../src/image/media-types.js';
import { Store } from '../../../src/store/store.js';
import { SchemaValidator } from '../image/oci-schema.js';
import { putFixtureImage, tempRoot } from './fixtures.js';

const validator = new SchemaValidator();

function code(c: string, msg?: RegExp) {
  return (e: unknown) => isSlipwayError(e) && e.code === c && (msg === undefined || msg.test(e.message));
}

async function withStore(fn: (s: Store, root: string) => Promise<void>): Promise<void> {
  const root = await tempRoot();
  try {
    await fn(await Store.open(root), root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

test('open creates an OCI layout', async () => {
  await withStore(async (_s, root) => {
    assert.deepEqual(JSON.parse(await readFile(join(root, 'oci/oci-layout'), 'utf8')), {
      imageLayoutVersion: '1.0.0',
    });
    const idx = JSON.parse(await readFile(join(root, 'oci/index.json'), 'utf8'));
    assert.deepEqual(idx.manifests, []);
    assert.ok((await stat(join(root, 'oci/blobs/sha256'))).isDirectory());
  });
});

test('blobs: streamed, verified, deduplicated; mismatch stores nothing', async () => {
  await withStore(async (s, root) => {
    const data = Buffer.from('hello');
    const d = sha256Digest(data);
    async function* gen() {
      yield Buffer.from('hel');
      yield 'lo';
    }
    assert.deepEqual(await s.writeBlob(gen()), { digest: d, size: 5 });
    assert.deepEqual(await s.writeBlob(data, { digest: d }), { digest: d, size: 5 });
    assert.equal((await s.readBlob(d)).toString(), 'hello');
    const other = sha256Digest('other');
    await assert.rejects(s.writeBlob(data, { digest: other }), code('STORE', /digest mismatch/));
    assert.equal(await s.hasBlob(other), false);
    await assert.rejects(
      s.writeBlob('x', { digest: sha256Digest('x'), size: 2 }),
      code('STORE', /size mismatch/),
    );
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  });
});

test('putImage + tag + resolve + listImages', async () => {
  await withStore(async (s) => {
    const img = await putFixtureImage(s, { layers: ['layer-one', 'layer-two!'] });
    // Freshly put and untagged: dangling, like a `docker build` without -t.
    let list = await s.listImages();
    assert.equal(list.length, 1);
    assert.deepEqual(list[0]!.names, []);
    assert.equal(list[0]!.id, img.configDigest);
    assert.equal(list[0]!.size, 'layer-one'.length + 'layer-two!'.length);
    assert.equal(list[0]!.created, '2024-05-01T12:00:00Z');

    assert.equal(await s.tag('python:3.11-slim', img.manifestDigest), 'docker.io/library/python:3.11-slim');
    await s.tag('user/app', img.manifestDigest);
    list = await s.listImages();
    assert.equal(list.length, 1);
    assert.deepEqual(list[0]!.names, ['docker.io/library/python:3.11-slim', 'docker.io/user/app:latest']);
    assert.deepEqual(list[0]!.config.rootfs.diff_ids, img.diffIds);

    const hex = img.configDigest.slice(7);
    for (const q of [
      'python:3.11-slim',
      'docker.io/library/python:3.11-slim',
      'user/app',
      'user/app:latest',
      'docker.io/user/app',
      img.configDigest,
      hex.slice(0, 12),
      hex.slice(0, 1),
      `sha256:${hex.slice(0, 5)}`,
      `python@${img.manifestDigest}`,
    ]) {
      assert.equal((await s.resolve(q)).manifestDigest, img.manifestDigest, q);
    }
    await assert.rejects(s.resolve('python'), code('NOT_FOUND', /^No such image: python:latest$/));
    await assert.rejects(s.resolve('nothing:1'), code('NOT_FOUND', /^No such image: nothing:1$/));
    assert.equal(await s.tryResolve(img.manifestDigest), undefined, 'a manifest digest is not an image ID');
    await assert.rejects(
      s.tag(`x@${img.manifestDigest}`, img.manifestDigest),
      code('INVALID_REFERENCE', /digest/),
    );
    await assert.rejects(s.tag('Bad', img.manifestDigest), code('INVALID_REFERENCE', /must be lowercase/));
  });
});

test('a name wins over an ID prefix; ambiguous prefixes are an error', async () => {
  await withStore(async (s) => {
    const imgs = [];
    for (let i = 0; i < 20; i++)
      imgs.push(
        await putFixtureImage(s, {
          layers: [`l${i}`],
          created: `2024-01-01T00:00:${String(i).padStart(2, '0')}Z`,
        }),
      );
    // Among 20 ids two share a first hex char (pigeonhole on 16 values).
    const byFirst = new Map<string, string[]>();
    for (const im of imgs) {
      const c = im.configDigest[7]!;
      byFirst.set(c, [...(byFirst.get(c) ?? []), im.manifestDigest]);
    }
    const [ch] = [...byFirst].find(([, v]) => v.length > 1)!;
    await assert.rejects(s.resolve(ch), code('CONFLICT', /ambiguous/));
    // Tag an image with a name that is also a valid hex prefix of another one.
    const target = imgs[0]!;
    await s.tag(`${ch}:latest`, target.manifestDigest);
    assert.equal((await s.resolve(ch)).manifestDigest, target.manifestDigest);
    // Newest first.
    const list = await s.listImages();
    assert.equal(list[0]!.created, '2024-01-01T00:00:19Z');
  });
});

test('retagging leaves the old image dangling; untag and deleteImage', async () => {
  await withStore(async (s) => {
    const a = await putFixtureImage(s, { layers: ['a'] });
    const b = await putFixtureImage(s, { layers: ['b'] });
    await s.tag('app', a.manifestDigest);
    await s.tag('app', b.manifestDigest);
    const recA = await s.getByManifest(a.manifestDigest);
    assert.deepEqual(recA?.names, []);
    assert.deepEqual((await s.resolve('app')).manifestDigest, b.manifestDigest);

    await s.tag('app:2', b.manifestDigest);
    const u = await s.untag('app');
    assert.deepEqual(u.remainingNames, ['docker.io/library/app:2']);
    const u2 = await s.untag('app:2');
    assert.deepEqual(u2.remainingNames, []);
    assert.deepEqual((await s.getByManifest(b.manifestDigest))?.names, []);
    await assert.rejects(s.untag('app:2'), code('NOT_FOUND', /No such image: app:2/));

    assert.deepEqual(await s.deleteImage(b.manifestDigest), []);
    assert.equal(await s.getByManifest(b.manifestDigest), undefined);
    await assert.rejects(s.deleteImage(b.manifestDigest), code('NOT_FOUND'));
    assert.equal((await s.listImages()).length, 1);
  });
});

test('gc removes unreferenced blobs and snapshots, keeps roots, pins and shared layers', async () => {
  await withStore(async (s, root) => {
    const keep = await putFixtureImage(s, { layers: ['shared', 'keep-only'] });
    const drop = await putFixtureImage(s, { layers: ['shared', 'drop-only'] });
    await s.tag('keep', keep.manifestDigest);
    await s.tag('drop', drop.manifestDigest);
    for (const c of [...chainIds(keep.diffIds), ...chainIds(drop.diffIds)]) {
      if (await s.hasSnapshot(c)) continue;
      const t = await s.createSnapshotTemp();
      await writeFile(join(t, 'f'), c);
      assert.equal(await s.commitSnapshot(t, c), true);
    }
    const pinned = await s.writeBlob('pinned-by-roots');
    await s.setRoots('buildcache', [pinned.digest]);
    // Everything written by this process is pinned while its lease lives: release to let gc work.
    await s.close();
    // A blob leaked by a crash (no pins, no references).
    const orphan = await s.writeBlob('orphan');
    await s.close();

    await s.untag('drop');
    await s.deleteImage(drop.manifestDigest);
    const r = await s.gc();
    const removed = new Set(r.removedBlobs);
    assert.ok(removed.has(drop.manifestDigest));
    assert.ok(removed.has(drop.configDigest));
    assert.ok(removed.has(drop.layers[1]!.digest));
    assert.ok(removed.has(orphan.digest));
    assert.equal(removed.size, 4);
    assert.ok(r.reclaimedBytes > 0);
    assert.deepEqual(r.removedSnapshots, [chainIds(drop.diffIds)[1]]);
    assert.ok(await s.hasBlob(drop.layers[0]!.digest), 'layer shared with a kept image stays');
    assert.ok(await s.hasBlob(pinned.digest));
    assert.ok(await s.hasSnapshot(chainIds(keep.diffIds)[1]!));
    assert.equal((await s.resolve('keep')).manifestDigest, keep.manifestDigest);
    assert.deepEqual((await readdir(join(root, 'tmp'))).length, 0);

    // A pinned blob survives; after removeRoots it goes.
    await s.removeRoots('buildcache');
    await s.pin([pinned.digest]);
    assert.deepEqual((await s.gc()).removedBlobs, []);
    await s.close();
    assert.deepEqual((await s.gc()).removedBlobs, [pinned.digest]);
  });
});

test('extraRoots hook pins blobs for gc', async () => {
  const root = await tempRoot();
  try {
    const s0 = await Store.open(root);
    const b = await s0.writeBlob('cache-blob');
    await s0.close();
    const s = await Store.open(root, { extraRoots: async () => [b.digest] });
    assert.deepEqual((await s.gc()).removedBlobs, []);
    assert.deepEqual((await s0.gc()).removedBlobs, [b.digest]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('snapshots: commit is atomic and first writer wins', async () => {
  await withStore(async (s) => {
    const c = sha256Digest('chain');
    assert.equal(await s.hasSnapshot(c), false);
    const t1 = await s.createSnapshotTemp();
    await writeFile(join(t1, 'one'), '1');
    const t2 = await s.createSnapshotTemp();
    await writeFile(join(t2, 'two'), '2');
    assert.equal(await s.commitSnapshot(t1, c), true);
    assert.equal(await s.commitSnapshot(t2, c), false);
    assert.deepEqual(await readdir(s.snapshotPath(c)), ['one']);
    await assert.rejects(stat(t2));
    assert.equal(await s.removeSnapshot(c), true);
    assert.equal(await s.hasSnapshot(c), false);
    assert.equal(await s.removeSnapshot(c), false);
  });
});

test('putImage rejects missing layers and mismatched diff_ids', async () => {
  await withStore(async (s) => {
    const missing = { mediaType: MediaType.ociLayerGzip, digest: sha256Digest('nope'), size: 4 };
    const config = {
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers' as const, diff_ids: [sha256Digest('x')] },
    };
    await assert.rejects(s.putImage({ config, layers: [missing] }), code('NOT_FOUND'));
    await assert.rejects(s.putImage({ config, layers: [] }), code('STORE', /diff_ids/));
  });
});

test('everything written validates against the OCI schemas', async () => {
  await withStore(async (s, root) => {
    for (const mediaTypes of ['oci', 'docker'] as const) {
      const img = await putFixtureImage(s, { layers: ['v1', 'v2'], mediaTypes });
      await s.tag(`valid/${mediaTypes}:1`, img.manifestDigest);
      const text = (await s.readBlob(img.manifestDigest)).toString();
      const m = JSON.parse(text);
      if (mediaTypes === 'docker') {
        assert.equal(m.mediaType, MediaType.dockerManifest);
        assert.equal(m.config.mediaType, MediaType.dockerConfig);
        assert.equal(m.layers[0].mediaType, MediaType.dockerLayerGzip);
      }
      assert.deepEqual(validator.validateDocument(MediaType.ociManifest, text), []);
      assert.deepEqual(
        validator.validateDocument(MediaType.ociConfig, (await s.readBlob(img.configDigest)).toString()),
        [],
      );
    }
    await s.tag('dangling-maker', (await s.resolve('valid/oci:1')).manifestDigest);
    await s.untag('dangling-maker');
    await putFixtureImage(s, { layers: ['unnamed'] });
    const idx = await readFile(join(root, 'oci/index.json'), 'utf8');
    assert.deepEqual(validator.validateDocument(MediaType.ociIndex, idx), []);
    for (const d of JSON.parse(idx).manifests) {
      assert.deepEqual(validator.validateDocument(MediaType.ociDescriptor, JSON.stringify(d)), []);
    }
    const layout = await readFile(join(root, 'oci/oci-layout'), 'utf8');
    assert.deepEqual(validator.validateDocument(MediaType.ociLayoutHeader, layout), []);
  });
});

test('registerImage records verbatim manifests; incomplete ones are refused', async () => {
  await withStore(async (s) => {
    const layer = await s.writeBlob('raw-layer');
    const cfgBytes = JSON.stringify({
      created: '2023-01-01T00:00:00Z',
      architecture: 'arm64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    });
    const cfg = await s.writeBlob(cfgBytes);
    const manifest = (configDigest: string) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.dockerManifest,
        config: { mediaType: MediaType.dockerConfig, digest: configDigest, size: cfg.size },
        layers: [{ mediaType: MediaType.dockerLayer, ...layer }],
      });
    const good = await s.writeBlob(manifest(cfg.digest));
    const rec = await s.registerImage(good.digest, { uncompressedSizes: [1234] });
    assert.equal(rec.id, cfg.digest);
    assert.equal(rec.size, 1234);
    assert.equal(rec.manifestMediaType, MediaType.dockerManifest);
    assert.deepEqual(rec.names, []);
    await s.tag('pulled:1', good.digest);
    assert.equal((await s.resolve('pulled:1')).created, '2023-01-01T00:00:00Z');

    const broken = await s.writeBlob(manifest(sha256Digest('missing config')));
    await assert.rejects(s.registerImage(broken.digest), code('NOT_FOUND'));
    await assert.rejects(s.tag('broken', broken.digest), code('NOT_FOUND'));
    assert.equal(await s.tryResolve('broken'), undefined);
  });
});
