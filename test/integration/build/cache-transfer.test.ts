import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CacheIndex, type StepRecord } from '../../../src/build/cache-index.js';
import { type CacheSpec, exportCache, importCache } from '../../../src/build/cache-transfer.js';
import { CredentialStore } from '../../../src/registry/credentials.js';
import type { RegistryOptions } from '../../../src/registry/options.js';
import { Store } from '../../../src/store/store.js';
import { busyboxTarball, slipway, tempDir, writeTree } from '../../helpers/cli.js';
import { hasTool, type RegistryServer, startRegistry } from '../registry/harness.js';

const isRoot = process.getuid?.() === 0;
const haveRegistry = await hasTool('docker-registry', ['--version']);

const DOCKERFILE =
  'FROM busybox\nWORKDIR /app\nENV GREETING=hello\nCOPY a.txt .\nRUN echo "$GREETING" > /app/out.txt && echo more > /app/more.txt\nCOPY b.txt .\nCMD ["cat", "/app/out.txt"]\n';
const LAYER_STEPS = [
  '[2/5] WORKDIR /app',
  '[3/5] COPY a.txt .',
  '[4/5] RUN echo "$GREETING" > /app/out.txt && echo more > /app/more.txt',
  '[5/5] COPY b.txt .',
];

/** Names of the steps `--progress=plain` reported as `#N CACHED`. */
function cachedNames(stderr: string): string[] {
  const names = new Map<string, string>();
  const out: string[] = [];
  for (const l of stderr.split('\n')) {
    const m = /^#(\d+) (\[.*)$/.exec(l);
    if (m) names.set(m[1]!, m[2]!);
    const c = /^#(\d+) CACHED$/.exec(l);
    if (c) out.push(names.get(c[1]!)!);
  }
  return out;
}

function readRecords(root: string): StepRecord[] {
  const dir = join(root, 'cache', 'steps');
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as StepRecord);
}

async function diffIds(root: string, name: string): Promise<string[]> {
  const store = await Store.open(root);
  try {
    return (await store.resolve(name)).config.rootfs.diff_ids;
  } finally {
    await store.close();
  }
}

describe('build cache export/import', { skip: isRoot ? false : 'needs root for overlayfs and runc' }, () => {
  const work = tempDir('cache-transfer');
  const rootA = join(work, 'a');
  const ctx = join(work, 'ctx');
  const busyboxImage = join(work, 'busybox-image.tar');
  let recordsA: StepRecord[] = [];

  /** A fresh root holding the very same busybox image as root A (save/load keeps the image ID). */
  function freshRoot(name: string): string {
    const root = join(work, name);
    const r = slipway(root, ['load', '-i', busyboxImage]);
    assert.equal(r.status, 0, r.stderr);
    return root;
  }

  async function importInto(root: string, spec: CacheSpec, opts: RegistryOptions = {}) {
    const store = await Store.open(root);
    try {
      return await importCache(store, await CacheIndex.open(root), spec, opts);
    } finally {
      await store.close();
    }
  }

  function buildAllCached(root: string): void {
    const r = slipway(root, ['build', '--progress=plain', '-t', 'cached', ctx]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(cachedNames(r.stderr), LAYER_STEPS, r.stderr);
  }

  before(async () => {
    const tar = busyboxTarball();
    assert.ok(tar, 'busybox-static is installed');
    let r = slipway(rootA, ['import', tar, 'busybox']);
    assert.equal(r.status, 0, r.stderr);
    r = slipway(rootA, ['save', '-o', busyboxImage, 'busybox']);
    assert.equal(r.status, 0, r.stderr);
    writeTree(ctx, { Dockerfile: DOCKERFILE, 'a.txt': 'a\n', 'b.txt': 'b\n' });
    r = slipway(rootA, ['build', '--progress=plain', '-t', 'cached', ctx]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(cachedNames(r.stderr), []);
    recordsA = readRecords(rootA);
    assert.ok(recordsA.filter((x) => x.layer).length >= 4, 'every layer step left a record');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('type=local: export to an OCI layout, import into a clean root, every step CACHED', async () => {
    const dir = join(work, 'cache-local');
    const storeA = await Store.open(rootA);
    const lines: string[] = [];
    const first = await exportCache(
      storeA,
      recordsA,
      { type: 'local', dir },
      { onProgress: (l) => lines.push(l) },
    );
    const again = await exportCache(storeA, recordsA, { type: 'local', dir });
    await storeA.close();
    assert.equal(first.manifestDigest, again.manifestDigest, 'same records, same manifest');
    assert.equal(first.records, recordsA.length);
    assert.match(lines.join('\n'), /^writing cache manifest sha256:[0-9a-f]{64} done$/m);
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0]!.digest, first.manifestDigest);
    assert.equal(index.manifests[0]!.annotations['org.opencontainers.image.ref.name'], 'latest');
    assert.ok(readFileSync(join(dir, 'oci-layout'), 'utf8').includes('1.0.0'));

    const rootB = freshRoot('b');
    const res = await importInto(rootB, { type: 'local', dir });
    assert.deepEqual(res.rejected, []);
    assert.equal(res.records, recordsA.length);
    assert.equal(res.layers, first.layers);
    const roots = JSON.parse(
      readFileSync(join(rootB, 'roots', 'buildcache-import.json'), 'utf8'),
    ) as string[];
    assert.equal(roots.length, first.layers);

    buildAllCached(rootB);
    assert.deepEqual(await diffIds(rootB, 'cached'), await diffIds(rootA, 'cached'));
    // Local records win: a second import has nothing to add.
    assert.equal((await importInto(rootB, { type: 'local', dir })).records, 0);

    // A new RUN on top of imported steps unpacks their layers from the imported blobs.
    const ctx2 = join(work, 'ctx2');
    writeTree(ctx2, {
      Dockerfile: `${DOCKERFILE}RUN cat /app/out.txt /app/more.txt /app/a.txt /app/b.txt > /app/all.txt\n`,
      'a.txt': 'a\n',
      'b.txt': 'b\n',
    });
    const more = slipway(rootB, ['build', '--progress=plain', '-t', 'more', ctx2]);
    assert.equal(more.status, 0, more.stderr);
    assert.deepEqual(
      cachedNames(more.stderr),
      LAYER_STEPS.map((s) => s.replace('/5]', '/6]')),
    );
    const run = slipway(rootB, ['run', '--rm', 'more', 'cat', '/app/all.txt']);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'hello\nmore\na\nb\n');
  });

  test('type=local: a record whose layer blob fails verification is never imported', async () => {
    const dir = join(work, 'cache-bad');
    const storeA = await Store.open(rootA);
    await exportCache(storeA, recordsA, { type: 'local', dir, tag: 'v1' });
    await storeA.close();
    const victim = recordsA.find((r) => r.parts.op.startsWith('RUN'))!;
    const blob = join(dir, 'blobs', 'sha256', victim.layer!.descriptor.digest.slice(7));
    const bytes = readFileSync(blob);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1]! ^ 0xff) & 0xff;
    writeFileSync(blob, bytes);

    const rootD = join(work, 'd');
    await assert.rejects(importInto(rootD, { type: 'local', dir }), /no cache manifest tagged "latest"/);
    const res = await importInto(rootD, { type: 'local', dir, tag: 'v1' });
    assert.equal(res.rejected.length, 1, res.rejected.join('\n'));
    assert.match(res.rejected[0]!, /digest mismatch/);
    assert.equal(res.records, recordsA.length - 1);
    const cache = await CacheIndex.open(rootD);
    assert.equal(await cache.get(victim.key), undefined);
    const store = await Store.open(rootD);
    assert.equal(await store.hasBlob(victim.layer!.descriptor.digest), false);
    await store.close();
  });

  test('type=local: a copied layout with a changed diffID claim is refused', async () => {
    const src = join(work, 'cache-local');
    const dir = join(work, 'cache-forged');
    cpSync(src, dir, { recursive: true });
    // Rewrite the records blob so the RUN record claims another diffID, and re-link the manifest.
    const { buildCacheManifest } = await import('../../../src/build/cache-transfer/format.js');
    const forged = recordsA.map((r) =>
      r.parts.op.startsWith('RUN') ? { ...r, layer: { ...r.layer!, diffId: `sha256:${'e'.repeat(64)}` } } : r,
    );
    const built = buildCacheManifest(forged);
    writeFileSync(join(dir, 'blobs', 'sha256', built.configDescriptor.digest.slice(7)), built.configBytes);
    writeFileSync(
      join(dir, 'blobs', 'sha256', built.manifestDescriptor.digest.slice(7)),
      built.manifestBytes,
    );
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
      manifests: { digest: string; size: number }[];
    };
    index.manifests[0]!.digest = built.manifestDescriptor.digest;
    index.manifests[0]!.size = built.manifestDescriptor.size;
    writeFileSync(join(dir, 'index.json'), JSON.stringify(index));

    const res = await importInto(join(work, 'e'), { type: 'local', dir });
    assert.equal(res.rejected.length, 1);
    assert.match(res.rejected[0]!, /has diffID sha256:[0-9a-f]{64}, record says sha256:e{64}/);
  });

  describe('type=registry', { skip: haveRegistry ? false : 'docker-registry not installed' }, () => {
    let reg: RegistryServer;
    let opts: RegistryOptions;
    before(async () => {
      reg = await startRegistry();
      opts = {
        config: { registryMirrors: [], insecureRegistries: [], certsDirs: [] },
        credentials: new CredentialStore(join(work, 'docker-config')),
      };
    });
    after(async () => {
      await reg?.stop();
      rmSync(reg.dir, { recursive: true, force: true });
    });

    test('push the cache as an artifact, import into a clean root, every step CACHED', async () => {
      const ref = `${reg.host}/cache/app:buildcache`;
      const storeA = await Store.open(rootA);
      const first = await exportCache(storeA, recordsA, { type: 'registry', ref }, opts);
      const again = await exportCache(storeA, recordsA, { type: 'registry', ref }, opts);
      await storeA.close();
      assert.equal(first.manifestDigest, again.manifestDigest);

      const rootC = freshRoot('c');
      const lines: string[] = [];
      const res = await importInto(
        rootC,
        { type: 'registry', ref },
        { ...opts, onProgress: (l) => lines.push(l) },
      );
      assert.deepEqual(res.rejected, []);
      assert.equal(res.records, recordsA.length);
      assert.equal(res.manifestDigest, first.manifestDigest);
      assert.match(
        lines.join('\n'),
        new RegExp(`importing cache manifest ${first.manifestDigest} from ${ref}`),
      );
      buildAllCached(rootC);
      assert.deepEqual(await diffIds(rootC, 'cached'), await diffIds(rootA, 'cached'));

      // By digest too.
      const byDigest = await importInto(
        join(work, 'c2'),
        { type: 'registry', ref: `${reg.host}/cache/app@${first.manifestDigest}` },
        opts,
      );
      assert.equal(byDigest.records, recordsA.length);
    });

    test('a missing cache ref is NOT_FOUND', async () => {
      await assert.rejects(
        importInto(join(work, 'f'), { type: 'registry', ref: `${reg.host}/cache/none:nope` }, opts),
        (e: Error & { code?: string }) => e.code === 'NOT_FOUND',
      );
    });
  });
});
