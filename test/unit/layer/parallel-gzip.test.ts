import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { crc32, gunzipSync, gzipSync } from 'node:zlib';
import { crc32Combine, parallelGzip } from '../../../src/layer/parallel-gzip.js';

const MiB = 1 << 20;

/** Compressible but not trivial: hex text of a hash chain, like source files in a layer. */
function sample(size: number): Buffer {
  const out = Buffer.alloc(size);
  let seed = Buffer.from('slipway');
  for (let off = 0; off < size; off += 64) {
    seed = createHash('sha256').update(seed).digest();
    out.write(seed.toString('hex'), off, 'latin1');
  }
  return out;
}

async function gzipInPieces(data: Buffer, pieceSize: number): Promise<Buffer> {
  async function* pieces(): AsyncGenerator<Buffer> {
    for (let off = 0; off < data.length; off += pieceSize) yield data.subarray(off, off + pieceSize);
  }
  const out: Buffer[] = [];
  for await (const p of parallelGzip(pieces(), { level: 6 })) out.push(p);
  return Buffer.concat(out);
}

test('parallel gzip: one member any gunzip reads, the same bytes however the input arrives', async () => {
  for (const size of [0, 1, 4096, MiB - 1, MiB, MiB + 1, 3 * MiB + 12345]) {
    const data = sample(size);
    const whole = await gzipInPieces(data, Math.max(1, size));
    assert.deepEqual(gunzipSync(whole), data, `round trip of ${size} bytes`);
    assert.deepEqual(await gzipInPieces(data, 7919), whole, `${size} bytes in odd pieces`);
  }
});

test('parallel gzip: up to one block it is exactly gzipSync at the same level', async () => {
  for (const size of [0, 100, MiB]) {
    const data = sample(size);
    assert.deepEqual(await gzipInPieces(data, 4096), gzipSync(data, { level: 6 }));
  }
});

test('parallel gzip: larger input stays as small as one deflate stream (within 0.1 %)', async () => {
  const data = sample(4 * MiB);
  const parallel = await gzipInPieces(data, 65536);
  const serial = gzipSync(data, { level: 6 });
  assert.ok(parallel.length <= serial.length * 1.001, `${parallel.length} vs ${serial.length}`);
});

test('crc32Combine: the CRC of a concatenation from its parts, as zlib computes it', () => {
  const data = sample(3 * MiB + 333);
  for (const cut of [0, 1, 511, 4096, MiB, 2 * MiB + 17, data.length]) {
    const a = data.subarray(0, cut);
    const b = data.subarray(cut);
    assert.equal(crc32Combine(crc32(a), crc32(b), b.length), crc32(data), `cut at ${cut}`);
  }
});
