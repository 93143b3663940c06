import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { layerSizeTap } from '../../../src/registry/download.js';
import type { Compression } from '../../../src/layer/types.js';

async function layerTar(): Promise<Buffer> {
  const p = tar.pack();
  p.entry({ name: 'bin/busybox', mode: 0o755 }, randomBytes(300_000));
  p.entry({ name: 'bin/sh', type: 'symlink', linkname: 'busybox' });
  p.entry({ name: 'bin/ls', type: 'link', linkname: 'bin/busybox' });
  p.entry({ name: 'etc/hostname' }, 'box\n');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function sizeOf(data: Buffer, compression: Compression, chunk: number): Promise<number | undefined> {
  const t = layerSizeTap(compression);
  async function* chunks() {
    for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
  }
  const seen: Buffer[] = [];
  for await (const c of t.tap(chunks())) seen.push(c);
  assert.ok(Buffer.concat(seen).equals(data), 'the tap passes every byte through unchanged');
  return t.result();
}

describe('layerSizeTap (a pulled layer sized as dockerd sizes it, while it downloads)', () => {
  it('counts file bytes once per hard link plus symlink targets, whatever the chunking', async () => {
    const layer = await layerTar();
    const want = 300_000 + 'busybox'.length + 4;
    for (const chunk of [509, 65_536]) {
      assert.equal(await sizeOf(gzipSync(layer), 'gzip', chunk), want);
      assert.equal(await sizeOf(layer, 'none', chunk), want);
    }
  });

  it('is undefined for a blob that is not a layer, and still passes it through', async () => {
    assert.equal(await sizeOf(Buffer.from('not gzip at all'.repeat(1000)), 'gzip', 4), undefined);
  });

  it('stops inflating when the download is abandoned', async () => {
    const t = layerSizeTap('gzip');
    async function* chunks() {
      yield gzipSync(await layerTar()).subarray(0, 1000);
    }
    for await (const _ of t.tap(chunks())) break;
    assert.equal(await t.result(), undefined);
  });
});
