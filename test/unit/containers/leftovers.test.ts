import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ContainerRecord } from '../../../src/containers/record.js';
import { ContainerStore } from '../../../src/containers/store.js';

const ID = (c: string) => c.repeat(64);

test('creating a container removes what killed creates and removals left behind', async () => {
  const root = mkdtempSync(join(tmpdir(), 'slipway-ct-leftovers-'));
  try {
    const cs = new ContainerStore(root);
    const kept = await cs.create((id, name) => ({ id, name }) as ContainerRecord, 'kept');
    // `run -d` killed between mkdir and the record's write: a directory holding only the record's temp.
    const dead = spawnSync('true').pid!;
    mkdirSync(cs.paths(ID('a')).dir);
    writeFileSync(join(cs.paths(ID('a')).dir, `.config.json.${dead}.0123456789ab.tmp`), '{"id":');
    // `rm -f` killed after deleting the directory: the container's gc roots still pin its image.
    mkdirSync(join(root, 'roots'), { recursive: true });
    writeFileSync(join(root, 'roots', `container-${ID('b')}.json`), '[]\n');
    writeFileSync(join(root, 'roots', `container-${kept.id}.json`), '[]\n');
    writeFileSync(join(root, 'roots', 'buildcache.json'), '[]\n');

    const next = await cs.create((id, name) => ({ id, name }) as ContainerRecord, 'next');
    assert.equal(existsSync(cs.paths(ID('a')).dir), false, 'the recordless directory is gone');
    assert.deepEqual(cs.ids().sort(), [kept.id, next.id].sort());
    assert.deepEqual(readdirSync(join(root, 'roots')).sort(), [
      'buildcache.json',
      `container-${kept.id}.json`,
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
