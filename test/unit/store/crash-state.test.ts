import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chainIds } from '../../../src/image/chain.js';
import { digestHex } from '../../../src/image/digest.js';
import { Store } from '../../../src/store/store.js';
import { putFixtureImage, tempRoot } from './fixtures.js';

/** The PID of a process that has exited: what the temp names of a killed slipway carry. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

test('a gc killed before putting back what a writer pinned meanwhile loses nothing', async () => {
  const root = await tempRoot('gc-crash');
  try {
    const s = await Store.open(root);
    const img = await putFixtureImage(s, { layers: ['one', 'two'] });
    await s.tag('kept', img.manifestDigest);
    const chain = chainIds(img.diffIds).at(-1)!;
    const snap = await s.createSnapshotTemp();
    await writeFile(join(snap, 'file'), 'content');
    await s.commitSnapshot(snap, chain);
    await s.close();
    // The state a kill leaves: gc moved a layer blob and a snapshot to its trash (unpinned when it
    // looked), a writer pinned and used them, and gc died before its second pin check put them back.
    const pid = deadPid();
    const trash = join(root, 'tmp', `gc.${pid}.0123456789ab.tmp`);
    await mkdir(trash);
    const layerHex = digestHex(img.layers[0]!.digest);
    await rename(join(root, 'oci/blobs/sha256', layerHex), join(trash, `b-${layerHex}`));
    await rename(s.snapshotPath(chain), join(trash, `s-${digestHex(chain)}`));
    // ...and a gc killed while deleting its (no longer restorable) trash.
    const doomed = join(root, 'tmp', `rm.${pid}.ba9876543210.tmp`);
    await mkdir(join(doomed, `s-${'e'.repeat(64)}`), { recursive: true });

    const again = await Store.open(root);
    assert.ok(await again.hasBlob(img.layers[0]!.digest), 'the layer blob is back');
    assert.ok(await again.hasSnapshot(chain), 'the snapshot is back');
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
    assert.deepEqual(await readdir(join(root, 'snapshots')), [digestHex(chain)]);
    assert.equal((await again.resolve('kept')).manifestDigest, img.manifestDigest);
    await again.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('gc leaves no restorable trash behind once it is done', async () => {
  const root = await tempRoot('gc-done');
  try {
    const s = await Store.open(root);
    const img = await putFixtureImage(s, { layers: ['gone'] });
    await s.deleteImage(img.manifestDigest);
    await s.close();
    const r = await s.gc();
    assert.equal(r.removedBlobs.length, 3);
    assert.deepEqual(await readdir(join(root, 'tmp')), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a process killed while taking the index lock leaves no lock others must wait out', async () => {
  const root = await tempRoot('lock-crash');
  try {
    const s = await Store.open(root);
    const img = await putFixtureImage(s, { layers: ['x'] });
    await s.close();
    // Killed inside lock creation: only its half-written temp exists, never an empty lock file.
    const pid = deadPid();
    const partial = join(root, 'locks', `.index.lock.${pid}.0123456789ab.tmp`);
    await writeFile(partial, '{"pid":');
    // Killed while holding the lock: a complete lock file naming a dead PID.
    await writeFile(join(root, 'locks', 'index.lock'), JSON.stringify({ pid, host: hostname() }));

    // A stall on either would time out here instead of tagging.
    const again = await Store.open(root, { lockTimeoutMs: 2000 });
    assert.deepEqual(await readdir(join(root, 'locks')), ['index.lock'], 'the temp is cleaned on open');
    await again.tag('after', img.manifestDigest);
    assert.deepEqual(await readdir(join(root, 'locks')), []);
    await again.close();
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
