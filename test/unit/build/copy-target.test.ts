import assert from 'node:assert/strict';
import {
  chmodSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CopySpec, copyInto, layeredView } from '../../../src/build/copy.js';
import { DirectoryTarget, EntryTarget } from '../../../src/build/copy-target.js';
import type { LayerEntry } from '../../../src/layer/types.js';

// The entry target must describe exactly the layer the staging directory would give.
let scratch = '';
let context = '';

function spec(sources: string[], dest: string, extra: Partial<CopySpec> = {}): CopySpec {
  return {
    sources,
    dest,
    workdir: '/',
    excludes: [],
    parents: false,
    createdDirTime: 1_700_000_000,
    instruction: 'COPY',
    ...extra,
  };
}

/** Entries as a user compares layers; a directory's mtime is "now" on both sides only to the second. */
function comparable(entries: LayerEntry[], nowDirs: Set<string>): object[] {
  return entries.map((e) => {
    const { source: _source, ...rest } = e;
    return nowDirs.has(e.path) ? { ...rest, mtime: 'now' } : rest;
  });
}

async function both(specs: CopySpec[]): Promise<{ fromDir: LayerEntry[]; fromEntries: LayerEntry[] }> {
  const staging = mkdtempSync(join(scratch, 'staging-'));
  const dirTarget = new DirectoryTarget(staging);
  const entryTarget = new EntryTarget();
  const view = layeredView([]);
  const match = (pattern: string, name: string) => pattern === name;
  for (const s of specs) {
    await copyInto(s, { root: context, resetOwnership: true }, view, dirTarget, match);
    await copyInto(s, { root: context, resetOwnership: true }, view, entryTarget, match);
  }
  return { fromDir: (await dirTarget.finish()).entries, fromEntries: (await entryTarget.finish()).entries };
}

describe('COPY targets: recorded entries equal the staged directory', () => {
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'slipway-copy-target-'));
    context = join(scratch, 'ctx');
    mkdirSync(join(context, 'app/sub/deep'), { recursive: true });
    writeFileSync(join(context, 'app/main.py'), 'print("hi")\n');
    writeFileSync(join(context, 'app/sub/a.txt'), 'a');
    writeFileSync(join(context, 'app/sub/deep/b.txt'), 'bb');
    writeFileSync(join(context, 'tool'), '#!/bin/sh\n');
    chmodSync(join(context, 'tool'), 0o4755);
    linkSync(join(context, 'app/sub/a.txt'), join(context, 'app/a-link.txt'));
    symlinkSync('main.py', join(context, 'app/entry.py'));
    for (const p of [
      'app/main.py',
      'app/sub/a.txt',
      'app/sub/deep/b.txt',
      'tool',
      'app/sub/deep',
      'app/sub',
      'app',
    ]) {
      utimesSync(join(context, p), 1_600_000_000, 1_600_000_000);
    }
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('copies a tree with hardlinks, symlinks and a setuid file into a new directory', async () => {
    const { fromDir, fromEntries } = await both([spec(['app', 'tool'], '/srv/')]);
    assert.deepEqual(comparable(fromEntries, new Set(['srv'])), comparable(fromDir, new Set(['srv'])));
    const tool = fromEntries.find((e) => e.path === 'srv/tool');
    assert.equal(tool?.mode, 0o4755, 'the owner change must not clear setuid');
    // The first name in tar order carries the content; later names of the inode link to it.
    const second = fromEntries.find((e) => e.path === 'srv/sub/a.txt');
    assert.equal(second?.type, 'hardlink');
    assert.equal(second?.linkTarget, 'srv/a-link.txt');
  });

  it('replaces what an earlier source wrote, as the directory does', async () => {
    const { fromDir, fromEntries } = await both([spec(['app'], '/srv'), spec(['tool'], '/srv/sub')]);
    assert.deepEqual(
      comparable(fromEntries, new Set(['srv', 'srv/sub'])),
      comparable(fromDir, new Set(['srv', 'srv/sub'])),
    );
    assert.equal(fromEntries.find((e) => e.path === 'srv/sub')?.type, 'file');
    assert.ok(!fromEntries.some((e) => e.path.startsWith('srv/sub/')));
  });

  it('copies a socket as an empty file and leaves fifos out; hardlinks stay within one source', async () => {
    // Observed on dockerd 20.10: `COPY sock /s` gives an empty file with the socket's permissions,
    // `COPY fifo …` copies nothing, and two sources naming one inode are two files.
    const dir = join(context, 'special');
    mkdirSync(dir);
    writeFileSync(join(dir, 'h1'), 'h');
    linkSync(join(dir, 'h1'), join(dir, 'h2'));
    spawnSync('mkfifo', [join(dir, 'fifo')]);
    const bind = `require('node:net').createServer().listen(${JSON.stringify(join(dir, 'sock'))}, () => process.exit(0));`;
    assert.equal(spawnSync(process.execPath, ['-e', bind]).status, 0);
    chmodSync(join(dir, 'sock'), 0o711);
    try {
      const { fromDir, fromEntries } = await both([
        spec(['special/sock'], '/s'),
        spec(['special/fifo'], '/nothing/f'),
        spec(['special/h1', 'special/h2'], '/two/'),
        spec(['special'], '/all/'),
      ]);
      const now = new Set(['all', 'two']);
      assert.deepEqual(comparable(fromEntries, now), comparable(fromDir, now));
      const brief = fromEntries.map((e) => `${e.path} ${e.type} ${e.mode.toString(8)} ${e.size}`);
      assert.deepEqual(brief, [
        'all dir 755 0',
        'all/h1 file 644 1',
        'all/h2 hardlink 644 0',
        'all/sock file 711 0',
        's file 711 0',
        'two dir 755 0',
        'two/h1 file 644 1',
        'two/h2 file 644 1',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps an image directory's mtime when only its existing children are staged", async () => {
    // Observed on dockerd 20.10: `COPY a.py /usr/local/lib/` leaves `usr` at the image's mtime
    // (overlayfs copies it up unchanged) while `usr/local`, which gains `lib`, moves to now.
    const image = mkdtempSync(join(scratch, 'image-'));
    mkdirSync(join(image, 'usr/local'), { recursive: true });
    for (const p of ['usr/local', 'usr']) utimesSync(join(image, p), 1_500_000_000, 1_500_000_000);
    const view = layeredView([image]);
    const match = (pattern: string, name: string) => pattern === name;
    const s = spec(['app/main.py'], '/usr/local/lib/');
    const dirTarget = new DirectoryTarget(mkdtempSync(join(scratch, 'staging-')));
    const entryTarget = new EntryTarget();
    await copyInto(s, { root: context, resetOwnership: true }, view, dirTarget, match);
    await copyInto(s, { root: context, resetOwnership: true }, view, entryTarget, match);
    const before = Math.floor(Date.now() / 1000) - 60;
    for (const target of [dirTarget, entryTarget]) {
      const times = new Map((await target.finish()).entries.map((e) => [e.path, e.mtime]));
      assert.equal(times.get('usr'), 1_500_000_000);
      assert.ok((times.get('usr/local') ?? 0) > before, 'a directory that gains a child moves to now');
    }
  });

  it("refuses to replace an image's link or file with a directory, or a directory with a file", async () => {
    // Observed on dockerd 20.10: `COPY rootfs/ /` fails with "cannot copy to non-directory" when
    // rootfs/lib meets a merged-/usr image's `/lib -> usr/lib`, and with "cannot replace to
    // directory … with file" when rootfs/etc/apt is a file; slipway replaced them silently.
    const image = mkdtempSync(join(scratch, 'image-'));
    mkdirSync(join(image, 'usr/lib'), { recursive: true });
    mkdirSync(join(image, 'etc/apt'), { recursive: true });
    symlinkSync('usr/lib', join(image, 'lib'));
    const rootfs = join(context, 'rootfs');
    const match = (pattern: string, name: string) => pattern === name;
    const copy = () =>
      copyInto(
        spec(['rootfs'], '/'),
        { root: context, resetOwnership: true },
        layeredView([image]),
        new EntryTarget(),
        match,
      );
    try {
      mkdirSync(join(rootfs, 'lib'), { recursive: true });
      writeFileSync(join(rootfs, 'lib/x'), 'x');
      await assert.rejects(copy, /cannot copy to non-directory: \/lib$/);
      rmSync(join(rootfs, 'lib'), { recursive: true });
      mkdirSync(join(rootfs, 'etc'));
      writeFileSync(join(rootfs, 'etc/apt'), 'file');
      await assert.rejects(copy, /cannot replace to directory \/etc\/apt with file/);
      // Through the link as a destination is fine: it is where BuildKit copies too.
      rmSync(join(rootfs, 'etc'), { recursive: true });
      writeFileSync(join(rootfs, 'x'), 'x');
      const target = new EntryTarget();
      await copyInto(
        spec(['rootfs'], '/lib/'),
        { root: context, resetOwnership: true },
        layeredView([image]),
        target,
        match,
      );
      assert.ok((await target.finish()).entries.some((e) => e.path === 'usr/lib/x'));
    } finally {
      rmSync(rootfs, { recursive: true, force: true });
    }
  });

  it('applies --chown and --chmod the same way', async () => {
    const s = spec(['app'], '/opt/app', {
      chown: { uid: 1000, gid: 1000 },
      chmod: (_mode, isDir) => (isDir ? 0o750 : 0o640),
    });
    const { fromDir, fromEntries } = await both([s]);
    const now = new Set(['opt']);
    assert.deepEqual(comparable(fromEntries, now), comparable(fromDir, now));
    assert.ok(fromEntries.every((e) => e.uid === 1000 || e.path === 'opt'));
  });
});
