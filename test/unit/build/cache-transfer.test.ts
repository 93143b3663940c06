import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { StepRecord } from '../../../src/build/cache-index.js';
import {
  buildCacheManifest,
  parseCacheDocument,
  parseCacheManifest,
} from '../../../src/build/cache-transfer/format.js';
import { CACHE_MEDIA_TYPE, parseCacheFlag } from '../../../src/build/cache-transfer.js';
import { cacheKey } from '../../../src/build/cachekey.js';
import { SlipwayError } from '../../../src/errors.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SlipwayError, `a SlipwayError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected an error');
}

describe('parseCacheFlag', () => {
  test('registry and local, buildx CSV syntax', () => {
    assert.deepEqual(parseCacheFlag('type=registry,ref=127.0.0.1:5000/app:cache', 'to'), {
      type: 'registry',
      ref: '127.0.0.1:5000/app:cache',
    });
    assert.deepEqual(parseCacheFlag('type=registry,ref=user/app:cache,mode=max', 'from'), {
      type: 'registry',
      ref: 'user/app:cache',
    });
    assert.deepEqual(parseCacheFlag('type=local,dest=/tmp/c,mode=min', 'to'), {
      type: 'local',
      dir: '/tmp/c',
    });
    assert.deepEqual(parseCacheFlag('type=local,src=/tmp/c', 'from'), { type: 'local', dir: '/tmp/c' });
    assert.deepEqual(parseCacheFlag('"type=local","src=/tmp/a,b"', 'from'), {
      type: 'local',
      dir: '/tmp/a,b',
    });
  });

  test('a bare reference is type=registry', () => {
    assert.deepEqual(parseCacheFlag('user/app:buildcache', 'from'), {
      type: 'registry',
      ref: 'user/app:buildcache',
    });
    assert.equal(
      code(() => parseCacheFlag('a/b,c/d', 'from')),
      'USAGE',
    );
  });

  test('keys are case-insensitive; known BuildKit attributes are accepted', () => {
    assert.deepEqual(
      parseCacheFlag('TYPE=registry,REF=r/x,compression=zstd,oci-mediatypes=true,image-manifest=true', 'to'),
      { type: 'registry', ref: 'r/x' },
    );
    assert.deepEqual(parseCacheFlag('type=local,dest=d,ignore-error=true,tag=v1', 'to'), {
      type: 'local',
      dir: 'd',
      ignoreError: true,
      tag: 'v1',
    });
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(parseCacheFlag(`type=local,src=d,digest=${digest}`, 'from'), {
      type: 'local',
      dir: 'd',
      digest,
    });
  });

  test('direction decides dest= versus src=', () => {
    assert.equal(
      code(() => parseCacheFlag('type=local,src=/x', 'to')),
      'USAGE',
    );
    assert.equal(
      code(() => parseCacheFlag('type=local,dest=/x', 'from')),
      'USAGE',
    );
    assert.equal(
      code(() => parseCacheFlag('type=registry', 'to')),
      'USAGE',
    );
  });

  test('bad values and unsupported backends', () => {
    assert.equal(
      code(() => parseCacheFlag('type=registry,ref=r/x,mode=all', 'to')),
      'USAGE',
    );
    assert.equal(
      code(() => parseCacheFlag('ref=r/x', 'to')),
      'USAGE',
    );
    assert.equal(
      code(() => parseCacheFlag('', 'to')),
      'USAGE',
    );
    assert.equal(
      code(() => parseCacheFlag('type=registry,ref=r/UPPER', 'to')),
      'USAGE',
    );
    assert.equal(
      code(() => parseCacheFlag(`type=registry,ref=r/x@sha256:${'b'.repeat(64)}`, 'to')),
      'USAGE',
    );
    assert.equal(
      code(() => parseCacheFlag('type=registry,ref="r/x', 'to')),
      'USAGE',
    );
    for (const t of ['gha', 's3', 'azblob', 'inline', 'bogus']) {
      assert.equal(
        code(() => parseCacheFlag(`type=${t},ref=r/x`, 'to')),
        'UNSUPPORTED',
      );
    }
  });
});

function record(op: string, layer?: { digest: string; size: number }): StepRecord {
  const parts = { parent: '', op, args: {}, inputs: [], platform: 'linux/amd64' };
  return {
    key: cacheKey(parts),
    parts,
    ...(layer
      ? {
          layer: {
            descriptor: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer },
            diffId: `sha256:${'d'.repeat(64)}`,
            chainId: `sha256:${'c'.repeat(64)}`,
          },
        }
      : {}),
    config: { Env: ['A=1'] },
    history: { created_by: op, empty_layer: !layer },
    createdAt: '2024-01-01T00:00:00.000Z',
  };
}

describe('cache manifest format', () => {
  const l1 = { digest: `sha256:${'1'.repeat(64)}`, size: 10 };
  const records = [record('RUN b', l1), record('ENV A=1'), record('COPY x /', l1)];

  test('is deterministic, names each layer once, and round-trips', () => {
    const a = buildCacheManifest(records);
    const b = buildCacheManifest([...records].reverse());
    assert.equal(a.manifestDescriptor.digest, b.manifestDescriptor.digest);
    assert.equal(a.manifest.layers.length, 1);
    assert.equal(a.manifest.config.mediaType, CACHE_MEDIA_TYPE);
    assert.equal(a.manifest.artifactType, CACHE_MEDIA_TYPE);
    const m = parseCacheManifest(a.manifestBytes, 'test');
    const parsed = parseCacheDocument(a.configBytes, m.layers);
    assert.deepEqual(parsed.rejected, []);
    assert.equal(parsed.records.length, 3);
  });

  test('refuses records whose key is not their parts hash or whose layer is not in the manifest', () => {
    const forged = { ...record('RUN evil', l1), key: records[0]!.key };
    const stray = record('RUN other', { digest: `sha256:${'2'.repeat(64)}`, size: 5 });
    const built = buildCacheManifest([records[0]!]);
    const doc = Buffer.from(JSON.stringify({ version: 1, records: [records[0], forged, stray, { key: 1 }] }));
    const parsed = parseCacheDocument(doc, built.manifest.layers);
    assert.equal(parsed.records.length, 1);
    assert.equal(parsed.rejected.length, 3);
    assert.match(parsed.rejected.join('\n'), /key does not match its parts/);
    assert.match(parsed.rejected.join('\n'), /not part of the cache manifest/);
  });

  test('refuses a manifest that is not a slipway cache', () => {
    const image = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: l1.digest, size: 1 },
        layers: [],
      }),
    );
    assert.throws(() => parseCacheManifest(image, 'x'), /not a slipway build cache/);
    assert.throws(() => parseCacheDocument(Buffer.from('{"version":2,"records":[]}'), []), /version 2/);
  });
});
