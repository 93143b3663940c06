import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SlipwayError } from '../../../src/errors.js';
import { detectCompression } from '../../../src/layer/compress.js';
import { compressionOfMediaType, layerMediaType } from '../../../src/layer/media-types.js';
import { memberComponents } from '../../../src/layer/safe-path.js';
import {
  BLOCK,
  type decodeRawHeader,
  encodeHeader,
  parsePax,
  TYPEFLAG,
} from '../../../src/layer/tar-header.js';
import { readTar } from '../../../src/layer/tar-reader.js';
import { tarStream } from '../../../src/layer/tar-writer.js';
import type { LayerEntry } from '../../../src/layer/types.js';
import { parseGetfattrDump } from '../../../src/layer/xattr.js';

async function collect(gen: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of gen) parts.push(b);
  return Buffer.concat(parts);
}

async function* chunked(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function roundTrip(entries: LayerEntry[], chunk = 7) {
  const tar = await collect(tarStream(entries));
  const out: { h: Awaited<ReturnType<typeof decodeRawHeader>>; body: Buffer }[] = [];
  for await (const e of readTar(chunked(tar, chunk))) {
    out.push({ h: e.header as ReturnType<typeof decodeRawHeader>, body: await collect(e.body()) });
  }
  return { tar, out };
}

const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex');

describe('tar headers', () => {
  test('pax record lengths count themselves, across the 9→10 and 99→100 boundaries', () => {
    for (let n = 0; n < 300; n++) {
      const blocks = encodeHeader({
        name: 'f',
        typeflag: TYPEFLAG.file,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: 0,
        xattrs: { 'user.k': Buffer.alloc(n, 0x61) },
      });
      const pax = parsePax(blocks[1]!);
      assert.equal(pax.get('SCHILY.xattr.user.k')?.length, n);
    }
  });

  test('short ASCII names are plain ustar with no pax header; dirs get a trailing slash', async () => {
    const { tar, out } = await roundTrip([
      { path: 'etc', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1 },
    ]);
    assert.equal(tar.length, BLOCK + 2 * BLOCK);
    assert.equal(tar.toString('latin1', 0, 4), 'etc/');
    assert.equal(tar.toString('latin1', 257, 263), 'ustar\0');
    assert.equal(out[0]?.h.name, 'etc/');
    assert.equal(out[0]?.h.typeflag, TYPEFLAG.dir);
  });

  test('long names, long link targets, unicode, big ids and binary xattrs survive a round trip', async () => {
    const long = `${'d'.repeat(120)}/${'e'.repeat(130)}/file-${'x'.repeat(60)}`;
    const entries: LayerEntry[] = [
      {
        path: long,
        type: 'file',
        mode: 0o4755,
        uid: 3_000_000,
        gid: 70_000,
        size: 5,
        mtime: 1_700_000_000,
        content: Buffer.from('hello'),
        xattrs: { 'security.capability': capability, 'user.bin': Buffer.from([0, 10, 255, 61]) },
      },
      {
        path: 'ln',
        type: 'symlink',
        mode: 0o777,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: 1,
        linkTarget: `/${'t'.repeat(200)}`,
      },
      {
        path: 'snow☃/ünï',
        type: 'file',
        mode: 0o600,
        uid: 1,
        gid: 2,
        size: 0,
        mtime: 2,
        content: Buffer.alloc(0),
      },
      { path: 'hl', type: 'hardlink', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 3, linkTarget: long },
      {
        path: 'dev/null',
        type: 'char',
        mode: 0o666,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: 4,
        devMajor: 1,
        devMinor: 3,
      },
    ];
    const { out } = await roundTrip(entries);
    assert.equal(out.length, 5);
    const [f, l, u, h, d] = out;
    assert.equal(f?.h.name, long);
    assert.equal(f?.h.mode, 0o4755);
    assert.equal(f?.h.uid, 3_000_000);
    assert.equal(f?.h.gid, 70_000);
    assert.equal(f?.h.mtime, 1_700_000_000);
    assert.equal(f?.body.toString(), 'hello');
    assert.deepEqual(f?.h.xattrs.get('security.capability'), capability);
    assert.deepEqual(f?.h.xattrs.get('user.bin'), Buffer.from([0, 10, 255, 61]));
    assert.equal(l?.h.linkname, `/${'t'.repeat(200)}`);
    assert.equal(u?.h.name, 'snow☃/ünï');
    assert.equal(h?.h.typeflag, TYPEFLAG.hardlink);
    assert.equal(h?.h.linkname, long);
    assert.equal(d?.h.devmajor, 1);
    assert.equal(d?.h.devminor, 3);
  });

  test('a corrupted header is a SlipwayError, not a crash', async () => {
    const tar = await collect(
      tarStream([
        {
          path: 'a',
          type: 'file',
          mode: 0o644,
          uid: 0,
          gid: 0,
          size: 1,
          mtime: 0,
          content: Buffer.from('x'),
        },
      ]),
    );
    tar[10] = 0x41;
    await assert.rejects(
      async () => {
        for await (const _ of readTar(chunked(tar, 512))) {
        }
      },
      (e: unknown) => e instanceof SlipwayError && /checksum/.test(e.message),
    );
  });

  test('a truncated archive is reported as truncated', async () => {
    const tar = await collect(
      tarStream([
        {
          path: 'a',
          type: 'file',
          mode: 0o644,
          uid: 0,
          gid: 0,
          size: 3000,
          mtime: 0,
          content: Buffer.alloc(3000),
        },
      ]),
    );
    await assert.rejects(async () => {
      for await (const e of readTar(chunked(tar.subarray(0, 1500), 100))) await collect(e.body());
    }, /truncated/);
  });

  test('content length must match the declared size', async () => {
    await assert.rejects(
      collect(
        tarStream([
          {
            path: 'a',
            type: 'file',
            mode: 0o644,
            uid: 0,
            gid: 0,
            size: 2,
            mtime: 0,
            content: Buffer.from('x'),
          },
        ]),
      ),
      /size says 2/,
    );
  });

  test('invalid entry paths are refused by the writer', async () => {
    for (const path of ['/abs', 'a/../b', 'a//b', 'dir/', '']) {
      await assert.rejects(
        collect(tarStream([{ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 0 }])),
        SlipwayError,
      );
    }
  });
});

describe('member paths', () => {
  test('leading slashes and dots are stripped, .. anywhere is rejected', () => {
    assert.deepEqual(memberComponents('/etc/x'), ['etc', 'x']);
    assert.deepEqual(memberComponents('./usr//bin/'), ['usr', 'bin']);
    assert.deepEqual(memberComponents('./'), []);
    assert.throws(() => memberComponents('../../etc/passwd'), /outside the root: \.\.\/\.\.\/etc\/passwd/);
    assert.throws(() => memberComponents('a/../b'), /outside the root/);
  });
});

describe('media types and sniffing', () => {
  test('OCI and Docker layer media types', () => {
    assert.equal(layerMediaType('gzip', true), 'application/vnd.oci.image.layer.v1.tar+gzip');
    assert.equal(layerMediaType('zstd', true), 'application/vnd.oci.image.layer.v1.tar+zstd');
    assert.equal(layerMediaType('none', true), 'application/vnd.oci.image.layer.v1.tar');
    assert.equal(layerMediaType('gzip', false), 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    assert.equal(layerMediaType('zstd', false), 'application/vnd.oci.image.layer.v1.tar+zstd');
    assert.equal(compressionOfMediaType('application/vnd.docker.image.rootfs.diff.tar.gzip'), 'gzip');
    assert.equal(compressionOfMediaType('application/vnd.oci.image.layer.v1.tar'), 'none');
    assert.equal(compressionOfMediaType('application/vnd.oci.image.config.v1+json'), undefined);
  });

  test('magic bytes', () => {
    assert.equal(detectCompression(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
    assert.equal(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
    assert.equal(detectCompression(Buffer.from('etc/')), 'none');
  });
});

describe('getfattr dump parsing', () => {
  test('escaped names, hex, base64, quoted and empty values', () => {
    const dump = [
      '# file: /r/a b',
      'user.x=0x68656c6c6f',
      '',
      '# file: /r/new\\012line\\\\x',
      'user.e=0x',
      'user.b=0sAAE=',
      'user.q="hi"',
      '',
    ].join('\n');
    const m = parseGetfattrDump(dump);
    assert.deepEqual(m.get('/r/a b'), { 'user.x': Buffer.from('hello') });
    assert.deepEqual(m.get('/r/new\nline\\x'), {
      'user.e': Buffer.alloc(0),
      'user.b': Buffer.from([0, 1]),
      'user.q': Buffer.from('hi'),
    });
  });
});
