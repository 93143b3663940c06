import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { commitLayer, commitLayerInBackground } from '../../../src/build/commit.js';
import type { Digest } from '../../../src/image/digest.js';
import { entriesFromDir } from '../../../src/layer/index.js';
import { Store } from '../../../src/store/store.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-commit-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A step's upper dir as a RUN leaves it, in the store's snapshot temp area. */
async function upperDir(store: Store): Promise<string> {
  const dir = await store.createSnapshotTemp();
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app/data.txt'), 'x'.repeat(3_000_000));
  writeFileSync(join(dir, 'app/small.py'), 'print("hi")\n');
  return dir;
}

describe('commitLayerInBackground', () => {
  test('commits the snapshot at once and the blob later, the same layer commitLayer makes', async () => {
    const store = await Store.open(join(work, 'root'));
    const scratch = store.paths.tmp;
    const directDir = await upperDir(store);
    const direct = await commitLayer(store, [], await entriesFromDir(directDir), undefined, scratch, {});
    const dir = await upperDir(store);
    const { ref, sealed } = await commitLayerInBackground(
      store,
      [],
      await entriesFromDir(dir),
      dir,
      scratch,
      {},
    );
    assert.equal(ref.diffId, direct.diffId);
    assert.equal(ref.chainId, direct.chainId);
    assert.equal(await store.hasSnapshot(ref.chainId as Digest), true, 'the next step can stack on it now');
    await sealed;
    assert.deepEqual(ref.descriptor, direct.descriptor);
    assert.equal(await store.hasBlob(ref.descriptor.digest), true);
    assert.deepEqual(
      JSON.parse(JSON.stringify(ref)),
      JSON.parse(JSON.stringify(direct)),
      'records serialize alike',
    );
    await store.close();
  });

  test('reading the descriptor before the blob is in the store is refused', async () => {
    const store = await Store.open(join(work, 'root2'));
    const dir = await upperDir(store);
    const { ref, sealed } = await commitLayerInBackground(
      store,
      [],
      await entriesFromDir(dir),
      dir,
      store.paths.tmp,
      {},
    );
    assert.throws(() => ref.descriptor, /still being compressed/);
    await sealed;
    assert.match(ref.descriptor.digest, /^sha256:/);
    await store.close();
  });
});
