import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isSlipwayError } from '../../../src/errors.js';
import { chainId, chainIds } from '../../../src/image/chain.js';
import {
  assertDigest,
  digestHex,
  digestStream,
  isDigest,
  sha256Digest,
  shortId,
} from '../../../src/image/digest.js';
import { MediaType, toDockerMediaType, toOciMediaType } from '../../../src/image/media-types.js';

const EMPTY = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

test('sha256 of buffers and streams', async () => {
  assert.equal(sha256Digest(Buffer.alloc(0)), EMPTY);
  assert.equal(sha256Digest('{}'), 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  const s = await digestStream(Readable.from([Buffer.from('{'), Buffer.from('}')]));
  assert.deepEqual(s, {
    digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    size: 2,
  });
});

test('digest validation', () => {
  assert.ok(isDigest(EMPTY));
  for (const bad of [
    'sha256:',
    `sha256:${'A'.repeat(64)}`,
    `sha512:${'a'.repeat(64)}`,
    'e3b0',
    `${EMPTY}0`,
  ]) {
    assert.ok(!isDigest(bad), bad);
    assert.throws(
      () => assertDigest(bad),
      (e: unknown) => isSlipwayError(e),
    );
  }
  assert.equal(digestHex(EMPTY), EMPTY.slice(7));
  assert.equal(shortId(EMPTY), 'e3b0c44298fc');
});

test('chain IDs follow the OCI formula', () => {
  const a = sha256Digest('a');
  const b = sha256Digest('b');
  const c = sha256Digest('c');
  const ab = sha256Digest(`${a} ${b}`);
  assert.deepEqual(chainIds([a, b, c]), [a, ab, sha256Digest(`${ab} ${c}`)]);
  assert.equal(chainId([a]), a);
  assert.equal(chainId([]), undefined);
});

test('media type conversion', () => {
  assert.equal(toDockerMediaType(MediaType.ociLayerGzip), MediaType.dockerLayerGzip);
  assert.equal(toOciMediaType(MediaType.dockerManifest), MediaType.ociManifest);
  assert.equal(toOciMediaType('text/plain'), 'text/plain');
});
