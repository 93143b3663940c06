import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  linkSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { applyLayer, type Compression, entriesFromDir, writeLayer } from '../../../src/layer/index.js';
import { startLayer } from '../../../src/layer/write-layer.js';
import { describeTree, sh } from './tree.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-layer-'));
const src = join(work, 'src');
const T = 1_600_000_000;
const capability = '0x0100000200200000000000000000000000000000';

/** A tree with one of everything a layer can hold. */
function buildTree(): void {
  mkdirSync(join(src, 'usr/bin'), { recursive: true });
  mkdirSync(join(src, 'etc'), { recursive: true });
  mkdirSync(join(src, 'tmp'), { mode: 0o777 });
  execFileSync('chmod', ['1777', join(src, 'tmp')]);
  writeFileSync(join(src, 'etc/hostname'), 'box\n');
  writeFileSync(join(src, 'usr/bin/tool'), Buffer.alloc(300_000, 7));
  execFileSync('chmod', ['4755', join(src, 'usr/bin/tool')]);
  writeFileSync(join(src, 'usr/bin/ping'), 'ping');
  linkSync(join(src, 'usr/bin/tool'), join(src, 'usr/bin/tool-alias'));
  symlinkSync('tool', join(src, 'usr/bin/t'));
  symlinkSync('/nonexistent/abs', join(src, 'dangling'));
  const deep = join(src, 'd'.repeat(90), 'e'.repeat(90), 'f'.repeat(90));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, `${'g'.repeat(120)}.txt`), 'deep');
  symlinkSync('x'.repeat(150), join(src, 'longlink'));
  writeFileSync(join(src, 'ünicode-☃'), 'snow');
  writeFileSync(join(src, 'owned'), 'o');
  execFileSync('chown', ['1234:5678', join(src, 'owned')]);
  execFileSync('mkfifo', [join(src, 'fifo')]);
  execFileSync('mknod', [join(src, 'null'), 'c', '1', '3']);
  execFileSync('mknod', [join(src, 'loop9'), 'b', '7', '9']);
  execFileSync('setfattr', ['-n', 'user.note', '-v', 'hi there', join(src, 'etc/hostname')]);
  execFileSync('setfattr', ['-n', 'security.capability', '-v', capability, join(src, 'usr/bin/ping')]);
  execFileSync('find', [src, '-exec', 'touch', '-h', '-d', `@${T}`, '{}', '+']);
}

before(() => buildTree());
after(() => rmSync(work, { recursive: true, force: true }));

describe('writeLayer', () => {
  test('the same tree gives the same digests, for every compression', async () => {
    for (const compression of ['gzip', 'zstd', 'none'] as Compression[]) {
      const a = await writeLayer(await entriesFromDir(src), join(work, `a.${compression}`), { compression });
      const b = await writeLayer(await entriesFromDir(src), join(work, `b.${compression}`), { compression });
      assert.equal(a.digest, b.digest, compression);
      assert.equal(a.diffId, b.diffId, compression);
      assert.equal(a.size, b.size);
      if (compression === 'none') assert.equal(a.digest, a.diffId);
      else assert.notEqual(a.digest, a.diffId);
    }
  });

  test('a small layer written in memory has the same bytes as the same entries streamed', async () => {
    for (const compression of ['gzip', 'none'] as Compression[]) {
      const entries = await entriesFromDir(src);
      const inMemory = await writeLayer(entries, join(work, `mem.${compression}`), { compression });
      async function* streamed() {
        yield* entries;
      }
      const viaStream = await writeLayer(streamed(), join(work, `stream.${compression}`), { compression });
      assert.deepEqual(
        { digest: inMemory.digest, diffId: inMemory.diffId, size: inMemory.size },
        { digest: viaStream.digest, diffId: viaStream.diffId, size: viaStream.size },
        compression,
      );
    }
  });

  test("a layer started (diffID first, blob later) has writeLayer's bytes, in one gzip block or several", async () => {
    // 2.5 MiB of compressible bytes: three parallel gzip blocks.
    const big = Buffer.from(Array.from({ length: 2_621_440 }, (_, i) => (i * 7919) % 251));
    const withBig = async () => [
      ...(await entriesFromDir(src)),
      {
        path: 'big.bin',
        type: 'file' as const,
        mode: 0o644,
        uid: 0,
        gid: 0,
        size: big.length,
        mtime: T,
        content: big,
      },
    ];
    for (const compression of ['gzip', 'zstd', 'none'] as Compression[]) {
      for (const [name, entries] of [
        ['small', await entriesFromDir(src)],
        ['big', await withBig()],
      ] as const) {
        const direct = await writeLayer(entries, join(work, `direct.${name}.${compression}`), {
          compression,
        });
        const started = await startLayer(entries, join(work, `later.${name}.${compression}`), {
          compression,
        });
        assert.ok(started);
        assert.equal(started.diffId, direct.diffId, `${name} ${compression}`);
        const later = await started.blob;
        assert.deepEqual(
          { digest: later.digest, diffId: later.diffId, size: later.size, mediaType: later.mediaType },
          { digest: direct.digest, diffId: direct.diffId, size: direct.size, mediaType: direct.mediaType },
          `${name} ${compression}`,
        );
      }
    }
  });

  test('diffId is the sha256 of the decompressed blob; digest and size describe the file', async () => {
    const blob = await writeLayer(await entriesFromDir(src), join(work, 'c.tgz'), { compression: 'gzip' });
    const fileSha = sh('sha256sum', [blob.path]).split(' ')[0];
    const tarSha = execFileSync('sh', ['-c', `gzip -dc '${blob.path}' | sha256sum`], {
      encoding: 'utf8',
    }).split(' ')[0];
    assert.equal(blob.digest, `sha256:${fileSha}`);
    assert.equal(blob.diffId, `sha256:${tarSha}`);
    assert.equal(blob.size, Number(sh('stat', ['-c', '%s', blob.path]).trim()));
    assert.equal(blob.mediaType, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const docker = await writeLayer(await entriesFromDir(src), join(work, 'd.tgz'), {
      compression: 'gzip',
      oci: false,
    });
    assert.equal(docker.mediaType, 'application/vnd.docker.image.rootfs.diff.tar.gzip');
    assert.equal(docker.digest, blob.digest);
  });

  test('sourceDateEpoch clamps newer mtimes so touching files does not change the digest', async () => {
    const epoch = T - 1000;
    const first = await writeLayer(await entriesFromDir(src), join(work, 'e1.tgz'), {
      sourceDateEpoch: epoch,
    });
    utimesSync(join(src, 'etc/hostname'), T + 5000, T + 5000);
    const second = await writeLayer(await entriesFromDir(src), join(work, 'e2.tgz'), {
      sourceDateEpoch: epoch,
    });
    const unclamped = await writeLayer(await entriesFromDir(src), join(work, 'e3.tgz'), {});
    utimesSync(join(src, 'etc/hostname'), T, T);
    assert.equal(first.digest, second.digest);
    assert.notEqual(first.diffId, unclamped.diffId);
    const listing = sh('tar', ['--full-time', '-tvzf', first.path]);
    for (const line of listing.trim().split('\n')) assert.match(line, /2020-09-13 12:10:00/, line);
  });

  test('GNU tar lists the expected names, modes, owners and link targets', async () => {
    const blob = await writeLayer(await entriesFromDir(src), join(work, 'list.tar'), { compression: 'none' });
    const lines = sh('tar', ['--numeric-owner', '-tvf', blob.path]).trim().split('\n');
    const byName = new Map(lines.map((l) => [l.replace(/^\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+/, ''), l]));
    const find = (name: string): string => {
      const l = byName.get(name);
      assert.ok(l, `tar lists ${name}; got:\n${lines.join('\n')}`);
      return l;
    };
    assert.match(find('etc/'), /^drwxr-xr-x 0\/0 /);
    assert.match(find('tmp/'), /^drwxrwxrwt 0\/0 /);
    assert.match(find('usr/bin/tool'), /^-rwsr-xr-x 0\/0 +300000 /);
    assert.match(find('usr/bin/tool-alias link to usr/bin/tool'), /^hrwsr-xr-x 0\/0 +0 /);
    assert.match(find('usr/bin/t -> tool'), /^lrwxrwxrwx 0\/0 /);
    assert.match(find('owned'), /^-rw-r--r-- 1234\/5678 /);
    assert.match(find('fifo'), /^prw-r--r-- /);
    assert.match(find('null'), /^crw-r--r-- 0\/0 +1,3 /);
    assert.match(find('loop9'), /^brw-r--r-- 0\/0 +7,9 /);
    find(`longlink -> ${'x'.repeat(150)}`);
    find(`${'d'.repeat(90)}/${'e'.repeat(90)}/${'f'.repeat(90)}/${'g'.repeat(120)}.txt`);
    find('ünicode-☃');
    const names = lines.map((l) =>
      l.replace(/^\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+/, '').replace(/ (->|link to) .*$/, ''),
    );
    const sorted = [...names].sort((a, b) =>
      Buffer.compare(Buffer.from(a.replace(/\/$/, '')), Buffer.from(b.replace(/\/$/, ''))),
    );
    assert.deepEqual(names, sorted, 'entries are in bytewise path order');
    const xattrs = sh('tar', ['--xattrs', '--xattrs-include=*', '-tvvf', blob.path]);
    assert.match(xattrs, /x: +20 security\.capability/);
    assert.match(xattrs, /x: +8 user\.note/);
    assert.ok(!/uname|gname/.test(sh('tar', ['-tvf', blob.path])));
    // uname/gname are empty: GNU tar shows numeric ids even without --numeric-owner
    assert.match(sh('tar', ['-tvf', blob.path]), /-rw-r--r-- 1234\/5678 /);
  });
});

describe('applyLayer round trip', () => {
  for (const compression of ['gzip', 'zstd', 'none'] as Compression[]) {
    test(`write → apply (${compression}) reproduces the tree exactly`, async () => {
      const blob = await writeLayer(await entriesFromDir(src), join(work, `rt.${compression}`), {
        compression,
      });
      const out = join(work, `out-${compression}`);
      mkdirSync(out);
      const r = await applyLayer(createReadStream(blob.path), out, { mediaType: blob.mediaType });
      assert.equal(r.compression, compression);
      assert.equal(r.diffId, blob.diffId);
      assert.equal(r.digest, blob.digest);
      assert.deepEqual(r.warnings, []);
      assert.deepEqual(describeTree(out), describeTree(src));
    });
  }

  test('applying onto existing content replaces what is in the way; applying twice is idempotent', async () => {
    const blob = await writeLayer(await entriesFromDir(src), join(work, 'twice.tgz'), {});
    const out = join(work, 'out-twice');
    mkdirSync(join(out, 'etc/hostname/sub'), { recursive: true }); // a dir where the layer has a file
    writeFileSync(join(out, 'usr'), 'a file where the layer has a dir');
    symlinkSync('/etc', join(out, 'tmp')); // a symlink where the layer has a dir: replaced, not followed
    await applyLayer(createReadStream(blob.path), out);
    await applyLayer(createReadStream(blob.path), out);
    assert.deepEqual(describeTree(out), describeTree(src));
  });

  test('corrupt gzip data is a LAYER error', async () => {
    const out = join(work, 'out-corrupt');
    mkdirSync(out);
    const bad = join(work, 'bad.tgz');
    writeFileSync(
      bad,
      Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]), Buffer.alloc(100, 0x55)]),
    );
    await assert.rejects(
      applyLayer(createReadStream(bad), out),
      (e: Error & { code?: string }) => e.code === 'LAYER',
    );
  });
});
