import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { removeQuiet } from '../../../src/store/fsutil.js';

test('removeQuiet removes a tree whose paths are longer than PATH_MAX', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-fsutil-'));
  try {
    // Made where its paths fit, then moved under a longer name, as gc moves a snapshot to tmp/.
    const deep = join(dir, 't', ...Array.from({ length: 2000 }, () => 'd'));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'leaf'), 'x');
    const trash = join(dir, 'x'.repeat(200));
    mkdirSync(trash);
    renameSync(join(dir, 't'), join(trash, 't'));
    await removeQuiet(trash);
    assert.equal(existsSync(trash), false);
  } finally {
    await removeQuiet(dir);
  }
});
