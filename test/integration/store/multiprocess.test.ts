import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chainIds } from '../../../src/image/chain.js';
import type { Index, Manifest } from '../../../src/image/types.js';
import { Store } from '../../../src/store/store.js';
import { putFixtureImage, tempRoot } from '../../unit/store/fixtures.js';

const childJs = fileURLToPath(new URL('./child.js', import.meta.url));

function runChild(
  ...args: string[]
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [childJs, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/** Every index entry's manifest, config and layers exist (no name points at a missing blob). */
async function assertConsistent(s: Store): Promise<void> {
  const idx = JSON.parse(await readFile(s.paths.indexFile, 'utf8')) as Index;
  for (const e of idx.manifests) {
    assert.ok(await s.hasBlob(e.digest), `manifest ${e.digest}`);
    const m = JSON.parse((await s.readBlob(e.digest)).toString()) as Manifest;
    assert.ok(await s.hasBlob(m.config.digest), `config ${m.config.digest}`);
    for (const l of m.layers) assert.ok(await s.hasBlob(l.digest), `layer ${l.digest}`);
  }
}

test('crash at any step leaves a readable store; stale temps, locks and leases are cleaned', async () => {
  const root = await tempRoot('crash');
  try {
    const s0 = await Store.open(root);
    const base = await putFixtureImage(s0, { layers: ['base'] });
    await s0.tag('base', base.manifestDigest);
    await s0.close();

    for (const mode of ['crash-mid-blob', 'crash-before-index', 'crash-holding-lock']) {
      const r = await runChild(mode, root);
      assert.equal(r.signal, 'SIGKILL', `${mode}: ${r.stderr}`);
    }
    assert.ok((await readdir(join(root, 'tmp'))).length >= 1, 'the last crash left temp files behind');
    assert.ok((await readdir(join(root, 'oci'))).some((n) => n.endsWith('.tmp')));

    const t0 = Date.now();
    const s = await Store.open(root);
    assert.deepEqual(await readdir(join(root, 'tmp')), [], 'dead writers’ temps removed on open');
    assert.ok(!(await readdir(join(root, 'oci'))).some((n) => n.endsWith('.tmp')));
    // The dead process's index lock is broken on the next update.
    await s.tag('after-crash', base.manifestDigest);
    assert.ok(Date.now() - t0 < 5000);
    assert.deepEqual(
      (await s.listImages()).map((i) => i.names),
      [['docker.io/library/base:latest', 'docker.io/library/after-crash:latest']],
    );
    await assertConsistent(s);
    // The blobs of the never-recorded image are garbage; the dead lease protects nothing.
    const r = await s.gc();
    assert.equal(r.removedBlobs.length, 3);
    assert.deepEqual(await readdir(join(root, 'leases')), []);
    await assertConsistent(s);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('two processes tagging in parallel: every tag lands', async () => {
  const root = await tempRoot('conc');
  try {
    const s = await Store.open(root);
    const img = await putFixtureImage(s, { layers: ['x'] });
    const n = 15;
    const results = await Promise.all([
      runChild('tag-loop', root, img.manifestDigest, 'alpha', String(n)),
      runChild('tag-loop', root, img.manifestDigest, 'beta', String(n)),
      runChild('tag-loop', root, img.manifestDigest, 'gamma', String(n)),
    ]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const names = (await s.resolve('alpha-0')).names;
    assert.equal(names.length, 3 * n);
    for (const p of ['alpha', 'beta', 'gamma']) {
      for (let i = 0; i < n; i++)
        assert.ok(names.includes(`docker.io/library/${p}-${i}:latest`), `${p}-${i}`);
    }
    assert.deepEqual(await readdir(join(root, 'locks')), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('gc running while other processes build never breaks a named image', async () => {
  const root = await tempRoot('gcrace');
  try {
    const s = await Store.open(root);
    const builders = Promise.all([
      runChild('build-loop', root, 'one', '6'),
      runChild('build-loop', root, 'two', '6'),
    ]);
    let done = false;
    void builders.then(() => {
      done = true;
    });
    let gcs = 0;
    while (!done) {
      await s.gc();
      gcs++;
    }
    for (const r of await builders) assert.equal(r.code, 0, r.stderr);
    await s.gc();
    assert.ok(gcs > 1);
    await assertConsistent(s);
    const list = await s.listImages();
    // Each builder retags nothing twice, so all 12 images are named.
    assert.equal(list.filter((i) => i.names.length > 0).length, 12);
    for (const im of list) {
      for (const c of chainIds(im.config.rootfs.diff_ids)) assert.equal(typeof c, 'string');
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
