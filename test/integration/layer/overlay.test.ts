import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { applyLayer, diffUpperDir, writeLayer } from '../../../src/layer/index.js';
import { makeTar } from './craft.js';
import { describeTree, sh } from './tree.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-overlay-'));
const mounted: string[] = [];

function mountOverlay(merged: string, lower: string[], upper?: { upper: string; work: string }): void {
  mkdirSync(merged, { recursive: true });
  // redirect_dir/metacopy/index off: the upper dir must be a self-contained change set (as Docker's overlay2 mounts it)
  let o = `lowerdir=${lower.join(':')},redirect_dir=off,metacopy=off,index=off`;
  if (upper) o += `,upperdir=${upper.upper},workdir=${upper.work}`;
  execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', o, merged]);
  mounted.push(merged);
}
function unmount(merged: string): void {
  execFileSync('umount', [merged]);
  mounted.splice(mounted.indexOf(merged), 1);
}

after(() => {
  for (const m of mounted.reverse()) execFileSync('umount', ['-l', m]);
  rmSync(work, { recursive: true, force: true });
});

function xattr(path: string, name: string): string | undefined {
  try {
    return execFileSync('getfattr', ['-h', '--only-values', '-n', name, path], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  } catch {
    return undefined;
  }
}

const lowerTar = makeTar([
  { name: 'a/', type: 'dir' },
  { name: 'a/file1', body: 'one' },
  { name: 'a/file2', body: 'two' },
  { name: 'b/', type: 'dir' },
  { name: 'b/x', body: 'x' },
  { name: 'c/', type: 'dir' },
  { name: 'c/old', body: 'old' },
  { name: 'c/sub/', type: 'dir' },
  { name: 'c/sub/y', body: 'y' },
  { name: 'keep', body: 'keep' },
]);
// `c/-early` sorts before `c/.wh..wh..opq`: the opaque marker must not delete its own layer's entries.
const upperTar = makeTar([
  { name: '.wh.b' },
  { name: 'a/.wh.file1' },
  { name: 'c/', type: 'dir' },
  { name: 'c/-early', body: 'early' },
  { name: 'c/.wh..wh..opq' },
  { name: 'c/new', body: 'new' },
]);

describe('whiteouts', () => {
  const flat = join(work, 'flat');

  test('delete mode: whiteouts remove lower paths, opaque dirs lose lower content only', async () => {
    mkdirSync(flat);
    await applyLayer(Readable.from([lowerTar]), flat);
    const r = await applyLayer(Readable.from([upperTar]), flat);
    assert.equal(r.whiteouts, 3);
    assert.deepEqual(
      describeTree(flat, { mtimes: false }).map((l) => l.split(' ').slice(0, 2).join(' ')),
      ['d a', 'f a/file2', 'd c', 'f c/-early', 'f c/new', 'f keep'],
    );
  });

  test('overlay mode: char 0/0 whiteouts and opaque xattrs that stack as overlay lowerdirs', async () => {
    const l1 = join(work, 'l1');
    const l2 = join(work, 'l2');
    mkdirSync(l1);
    mkdirSync(l2);
    await applyLayer(Readable.from([lowerTar]), l1, { overlayWhiteouts: true });
    await applyLayer(Readable.from([upperTar]), l2, { overlayWhiteouts: true });
    for (const p of ['b', 'a/file1']) {
      const st = lstatSync(join(l2, p));
      assert.ok(st.isCharacterDevice() && st.rdev === 0, `${p} is a whiteout device`);
    }
    assert.equal(xattr(join(l2, 'c'), 'trusted.overlay.opaque'), 'y');
    assert.ok(!readdirSync(l2).some((n) => n.startsWith('.slipway')), 'no whiteout template left behind');
    const merged = join(work, 'stack');
    mountOverlay(merged, [l2, l1]);
    try {
      assert.deepEqual(describeTree(merged, { mtimes: false }), describeTree(flat, { mtimes: false }));
    } finally {
      unmount(merged);
    }
  });
});

describe('overlay upper-dir diff (real overlayfs)', () => {
  const lower = join(work, 'ov-lower');
  const upper = join(work, 'ov-upper');
  const ovWork = join(work, 'ov-work');
  const merged = join(work, 'ov-merged');
  const exclude = ['/etc/hostname', '/proc'];
  const skip = (rel: string): boolean => rel === 'etc/hostname' || rel === 'proc' || rel.startsWith('proc/');
  let expected: string[] = [];

  test('changes in a mounted overlay become entries with whiteouts and opaque markers', async () => {
    for (const d of ['etc', 'usr/bin', 'var/log/old/deep', 'data/sub'])
      mkdirSync(join(lower, d), { recursive: true });
    writeFileSync(join(lower, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
    writeFileSync(join(lower, 'usr/bin/tool'), 'tool');
    writeFileSync(join(lower, 'var/log/old/1'), '1');
    writeFileSync(join(lower, 'var/log/old/deep/2'), '2');
    writeFileSync(join(lower, 'data/sub/f'), 'f');
    writeFileSync(join(lower, 'rmme'), 'bye');
    mkdirSync(upper);
    mkdirSync(ovWork);
    mountOverlay(merged, [lower], { upper, work: ovWork });

    const m = (p: string): string => join(merged, p);
    writeFileSync(m('etc/passwd'), 'root:x:0:0::/root:/bin/bash\n'); // copy-up + modify
    execFileSync('chmod', ['700', m('usr/bin/tool')]); // metadata-only change
    writeFileSync(m('usr/bin/new'), 'new');
    execFileSync('ln', [m('usr/bin/new'), m('usr/bin/new-hardlink')]);
    execFileSync('ln', ['-s', 'new', m('usr/bin/new-symlink')]);
    execFileSync('setfattr', ['-n', 'user.origin', '-v', 'test', m('usr/bin/new')]);
    execFileSync('rm', [m('rmme')]);
    execFileSync('rm', ['-rf', m('data')]);
    execFileSync('rm', ['-rf', m('var/log/old')]);
    mkdirSync(m('var/log/old'));
    writeFileSync(m('var/log/old/3'), '3');
    // what a runtime leaves behind: an empty placeholder and a mount-point stub
    writeFileSync(m('etc/hostname'), '');
    mkdirSync(m('proc'));
    expected = describeTree(merged, { skip });
    unmount(merged);

    const entries = await diffUpperDir(upper, { exclude });
    const names = entries.map((e) => `${e.type} ${e.path}${e.linkTarget ? ` -> ${e.linkTarget}` : ''}`);
    assert.deepEqual(names, [
      'file .wh.data',
      'file .wh.rmme',
      'dir etc',
      'file etc/passwd',
      'dir usr',
      'dir usr/bin',
      'file usr/bin/new',
      'hardlink usr/bin/new-hardlink -> usr/bin/new',
      'symlink usr/bin/new-symlink -> new',
      'file usr/bin/tool',
      'dir var',
      'dir var/log',
      'dir var/log/old',
      'file var/log/old/.wh..wh..opq',
      'file var/log/old/3',
    ]);
    const byPath = new Map(entries.map((e) => [e.path, e]));
    assert.equal(byPath.get('usr/bin/tool')?.mode, 0o700);
    assert.deepEqual(byPath.get('usr/bin/new')?.xattrs, { 'user.origin': Buffer.from('test') });
    assert.equal(byPath.get('etc')?.xattrs, undefined, 'trusted.overlay.* never reaches the layer');
    assert.equal(byPath.get('.wh.rmme')?.size, 0);
  });

  test('the diff applied onto the lower (delete mode) reproduces the merged view', async () => {
    const blob = await writeLayer(await diffUpperDir(upper, { exclude }), join(work, 'diff.tgz'), {});
    const listing = sh('tar', ['-tzf', blob.path]);
    assert.match(listing, /^var\/log\/old\/\.wh\.\.wh\.\.opq$/m);
    assert.doesNotMatch(listing, /hostname|proc/);
    const copy = join(work, 'ov-copy');
    execFileSync('cp', ['-a', lower, copy]);
    await applyLayer(createReadStream(blob.path), copy, { mediaType: blob.mediaType });
    assert.deepEqual(describeTree(copy), expected);
  });

  test('the diff applied in overlay mode stacks on the lower into the merged view', async () => {
    const blob = await writeLayer(await diffUpperDir(upper, { exclude }), join(work, 'diff2.tgz'), {
      compression: 'zstd',
    });
    const snap = join(work, 'ov-snap');
    mkdirSync(snap);
    await applyLayer(createReadStream(blob.path), snap, { overlayWhiteouts: true });
    const view = join(work, 'ov-view');
    mountOverlay(view, [snap, lower]);
    try {
      assert.deepEqual(describeTree(view, { skip }), expected);
      assert.equal(existsSync(join(view, 'data')), false);
    } finally {
      unmount(view);
    }
  });
});
