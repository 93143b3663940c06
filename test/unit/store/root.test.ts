import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isSlipwayError } from '../../../src/errors.js';
import { Store } from '../../../src/store/store.js';

function refused(why: RegExp) {
  return (e: unknown) => isSlipwayError(e) && e.code === 'STORE' && why.test(e.message);
}

test('a store root that cannot be a directory is refused in one sentence', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-root-'));
  try {
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    const notDir = new RegExp(`^cannot use .* as the store root: ${file} is not a directory$`);
    await assert.rejects(Store.open(file), refused(notDir));
    await assert.rejects(Store.open(join(file, 'below')), refused(notDir));
    // mkdir(2) says ENOENT under /proc, where Node's recursive mkdir retried forever.
    if (existsSync('/proc/self')) {
      await assert.rejects(
        Store.open('/proc/slipway-root/x'),
        refused(/ENOENT.*mkdir '\/proc\/slipway-root'/),
      );
    }
    const fresh = await Store.open(join(dir, 'a', 'b'));
    await fresh.close();
    assert.ok(existsSync(join(dir, 'a', 'b', 'oci', 'index.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
