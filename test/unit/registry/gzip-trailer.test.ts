import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { gzipTrailerSize } from '../../../src/registry/download.js';

async function sizeOf(data: Buffer, chunk: number): Promise<number | undefined> {
  const t = gzipTrailerSize();
  async function* chunks() {
    for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
  }
  const seen: Buffer[] = [];
  for await (const c of t.tap(chunks())) seen.push(c);
  assert.ok(Buffer.concat(seen).equals(data), 'the tap passes every byte through unchanged');
  return t.result();
}

describe('gzipTrailerSize (a pulled layer measured without inflating it)', () => {
  it('reads the uncompressed length whatever the chunking', async () => {
    const text = Buffer.from('hello layer\n'.repeat(10_000));
    for (const chunk of [1, 3, 4096, 1 << 20]) assert.equal(await sizeOf(gzipSync(text), chunk), text.length);
  });

  it('is exact for incompressible data, where gzip is larger than its input', async () => {
    const noise = randomBytes(3 << 20);
    assert.equal(await sizeOf(gzipSync(noise, { level: 1 }), 65_536), noise.length);
  });

  it('is undefined for data that is not gzip', async () => {
    assert.equal(await sizeOf(Buffer.from('not gzip at all'), 4), undefined);
    assert.equal(await sizeOf(Buffer.alloc(0), 4), undefined);
  });
});
