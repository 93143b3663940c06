import assert from 'node:assert/strict';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tar from 'tar-stream';
import { copyInto, layeredView, unpackArchive } from '../../../src/build/copy.js';
import { DirectoryTarget } from '../../../src/build/copy-target.js';

const isRoot = process.getuid?.() === 0;
let scratch = '';
let archive = '';

async function pack(path: string, files: string[]): Promise<void> {
  const p = tar.pack();
  for (const name of files) p.entry({ name, mode: 0o644, mtime: new Date(1_500_000_000_000) }, 'x\n');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  writeFileSync(path, Buffer.concat(chunks));
}

/** An archive as a packager writes one: foreign owners, a setuid file, a hardlink whose header disagrees with its target. */
async function makeArchive(path: string): Promise<void> {
  const p = tar.pack();
  const mtime = new Date(1_500_000_000_000);
  const own = { uid: 1234, gid: 5678, mtime };
  p.entry({ name: 'pkg', type: 'directory', mode: 0o750, ...own });
  p.entry({ name: 'pkg/a.txt', mode: 0o600, ...own }, 'a\n');
  p.entry({ name: 'pkg/suid', mode: 0o4755, uid: 0, gid: 0, mtime }, 's\n');
  p.entry({ name: 'pkg/hard', type: 'link', linkname: 'pkg/a.txt', mode: 0o644, ...own });
  p.entry({ name: 'pkg/.wh.gone', mode: 0o644, ...own }, '');
  p.entry({ name: 'pkg/sub/.wh..wh..opq', mode: 0o644, ...own }, '');
  p.entry({ name: 'pkg/sub/f', mode: 0o644, ...own }, 'f\n');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  writeFileSync(path, Buffer.concat(chunks));
}

function meta(path: string): string {
  const st = lstatSync(path);
  return `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
}

describe('ADD of a local archive', { skip: isRoot ? false : 'needs root to keep archive owners' }, () => {
  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'slipway-add-archive-'));
    archive = join(scratch, 'pkg.tar');
    await makeArchive(archive);
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  // Expected values observed on dockerd 20.10 (ADD pkg.tar /plain/), except where noted.
  it("keeps the archive's owners and modes, .wh. names as files, and a hardlink header's mode", async () => {
    const dest = join(scratch, 'plain');
    mkdirSync(dest);
    await unpackArchive(archive, dest, undefined);
    assert.deepEqual(readdirSync(join(dest, 'pkg')).sort(), ['.wh.gone', 'a.txt', 'hard', 'sub', 'suid']);
    assert.deepEqual(readdirSync(join(dest, 'pkg/sub')).sort(), ['.wh..wh..opq', 'f']);
    assert.equal(meta(join(dest, 'pkg')), '750 1234:5678');
    assert.equal(meta(join(dest, 'pkg/suid')), '4755 0:0');
    // The link's header (0644) is applied to the shared inode after the 0600 file was written.
    assert.equal(meta(join(dest, 'pkg/a.txt')), '644 1234:5678');
    assert.equal(lstatSync(join(dest, 'pkg/hard')).ino, lstatSync(join(dest, 'pkg/a.txt')).ino);
    assert.equal(lstatSync(join(dest, 'pkg/a.txt')).mtimeMs, 1_500_000_000_000);
    assert.equal(meta(join(dest, 'pkg/sub')), '755 0:0', 'an implied directory is 0755, root-owned');
  });

  it("lands on the image: implied parents go through its links and keep its directories' modes", async () => {
    // Observed on dockerd 20.10 (ADD a.tar.gz / of members without directory entries): `lib/y`
    // goes through the image's `lib -> usr/lib`, `tmp` stays 1777 and `root` 0700, and `var`,
    // which gains no new entry, keeps its mtime. slipway made each a new 0755 directory, which
    // replaced the link (hiding /usr/lib) and opened /root, closed /tmp.
    const image = join(scratch, 'image');
    for (const d of ['usr/lib', 'tmp', 'root', 'var/log']) mkdirSync(join(image, d), { recursive: true });
    symlinkSync('usr/lib', join(image, 'lib'));
    chmodSync(join(image, 'tmp'), 0o1777);
    chmodSync(join(image, 'root'), 0o700);
    utimesSync(join(image, 'var'), 1_400_000_000, 1_400_000_000);
    const ctx = join(scratch, 'ctx');
    mkdirSync(ctx);
    await pack(join(ctx, 'a.tar'), ['tmp/x', 'lib/y', 'var/log/z', 'root/r']);
    const staging = join(scratch, 'staging');
    mkdirSync(staging);
    const spec = {
      sources: ['a.tar'],
      dest: '/',
      workdir: '/',
      excludes: [],
      parents: false,
      createdDirTime: 1_700_000_000,
      instruction: 'ADD',
      unpackArchives: true,
    };
    const match = (pattern: string, name: string) => pattern === name;
    await copyInto(
      spec,
      { root: ctx, resetOwnership: true },
      layeredView([image]),
      new DirectoryTarget(staging),
      match,
    );
    assert.deepEqual(readdirSync(staging).sort(), ['root', 'tmp', 'usr', 'var']);
    assert.equal(meta(join(staging, 'tmp')), '1777 0:0');
    assert.equal(meta(join(staging, 'root')), '700 0:0');
    assert.ok(lstatSync(join(staging, 'usr/lib/y')).isFile());
    assert.equal(lstatSync(join(staging, 'var')).mtimeMs, 1_400_000_000_000);
  });

  it('--chown owns every member but keeps setuid; implied directories stay root-owned', async () => {
    // dockerd 20.10 ignores --chown inside archives; current BuildKit applies it to every member
    // (mapArchiveHeaderOwner), setting the owner before the mode, so setuid survives.
    const dest = join(scratch, 'owned');
    mkdirSync(dest);
    await unpackArchive(archive, dest, { uid: 7, gid: 8 });
    assert.equal(meta(join(dest, 'pkg/suid')), '4755 7:8');
    assert.equal(meta(join(dest, 'pkg')), '750 7:8');
    assert.equal(meta(join(dest, 'pkg/sub/f')), '644 7:8');
    assert.equal(meta(join(dest, 'pkg/sub')), '755 0:0');
  });
});
