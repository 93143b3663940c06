import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isMounted, mountOverlay, mountPoints, unmount } from '../../../src/runtime/overlay.js';
import { Store } from '../../../src/store/store.js';
import { tempRoot } from '../../unit/store/fixtures.js';

const skip = process.getuid?.() !== 0 ? 'needs root (mounts)' : undefined;

/** The PID of a process that has exited: what a temp name of a killed slipway carries. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

test('a killed RUN step’s mounts are unmounted by the next open, never deleted through', {
  skip,
}, async () => {
  const root = await tempRoot('stale-mounts');
  const outside = await tempRoot('stale-mounts-outside');
  const pid = deadPid();
  // What `kill -9` during a RUN step leaves: the step's overlay still mounted in its temp dir, and a
  // read-only view (COPY --from of a multi-layer stage) mounted in another.
  const run = join(root, 'tmp', `run.${pid}.0123456789ab.tmp`);
  const view = join(root, 'tmp', `view.${pid}.ba9876543210.tmp`);
  try {
    await (await Store.open(root)).close();
    const precious = join(outside, 'context');
    mkdirSync(precious);
    writeFileSync(join(precious, 'keep.txt'), 'mine\n');
    mkdirSync(join(run, 'rootfs'), { recursive: true });
    // A bind of a directory outside the store stands for any mount a recursive delete must not enter.
    execFileSync('mount', ['--bind', precious, join(run, 'rootfs')]);
    const lowers = ['a', 'b'].map((n) => {
      const d = join(outside, n);
      mkdirSync(d);
      writeFileSync(join(d, n), n);
      return d;
    });
    await mountOverlay({ lowerDirs: lowers, target: view });
    assert.ok(isMounted(join(run, 'rootfs')) && isMounted(view));

    const s = await Store.open(root);
    await s.close();
    assert.deepEqual(
      mountPoints().filter((m) => m.startsWith(`${root}/`)),
      [],
      'the dead process’s mounts are gone',
    );
    assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'its temp dirs are removed');
    assert.ok(existsSync(join(precious, 'keep.txt')), 'nothing outside the store was deleted');
  } finally {
    for (const m of mountPoints()
      .filter((p) => p.startsWith(`${root}/`))
      .reverse())
      await unmount(m);
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  }
});
