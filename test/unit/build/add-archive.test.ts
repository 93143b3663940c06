import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tar from 'tar-stream';
import { unpackArchive } from '../../../src/build/copy.js';

const isRoot = process.getuid?.() === 0;
let scratch = '';
let archive = '';

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
