/**
 * Child process for the store's multi-process tests: `node child.js <mode> <root> [args...]`.
 * Crash modes end with SIGKILL at a chosen point, as a killed `slipway build` would.
 */
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Digest } from '../../../src/image/digest.js';
import { MediaType } from '../../../src/image/media-types.js';
import { tempName } from '../../../src/store/fsutil.js';
import { FileLock } from '../../../src/store/lock.js';
import { Store } from '../../../src/store/store.js';
import { putFixtureImage } from '../../unit/store/fixtures.js';

const [mode, root, ...args] = process.argv.slice(2) as [string, string, ...string[]];

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
}

const store = await Store.open(root);
switch (mode) {
  case 'crash-mid-blob': {
    // A half-written temp blob, as left by a kill during streaming.
    const fh = await open(join(store.paths.tmp, tempName('blob')), 'wx');
    await fh.write(Buffer.alloc(4096, 1));
    die();
    break;
  }
  case 'crash-before-index': {
    // Layer, config and manifest blobs are in place; index.json never learns about them.
    const layer = await store.writeBlob('crash-layer');
    const config = await store.writeBlob(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    );
    await store.writeBlob(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, ...config },
        layers: [{ mediaType: MediaType.ociLayer, ...layer }],
      }),
    );
    die();
    break;
  }
  case 'crash-holding-lock': {
    // Killed inside an index update: lock file held, index temp written but never renamed, a snapshot
    // extraction half done.
    await FileLock.acquire(store.paths.indexLock);
    await writeFile(join(store.paths.oci, tempName('.index.json')), '{"schemaVersion":2,"manif');
    const snap = await store.createSnapshotTemp();
    await writeFile(join(snap, 'half'), 'x');
    await store.pin([sha256Digest('leased-by-dead-process')]);
    die();
    break;
  }
  case 'tag-loop': {
    // args: manifestDigest prefix count
    const [digest, prefix, count] = args as [string, string, string];
    for (let i = 0; i < Number(count); i++) await store.tag(`${prefix}-${i}`, digest);
    break;
  }
  case 'build-loop': {
    // args: prefix count — each iteration writes fresh layers and a named image, like repeated builds.
    const [prefix, count] = args as [string, string];
    for (let i = 0; i < Number(count); i++) {
      const img = await putFixtureImage(store, {
        layers: [`${prefix}-base`, `${prefix}-${i}-${Math.random()}`],
      });
      await store.tag(`${prefix}:${i}`, img.manifestDigest);
    }
    await store.close();
    break;
  }
  default:
    throw new Error(`unknown mode ${mode}`);
}
