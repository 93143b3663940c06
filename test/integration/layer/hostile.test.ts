import assert from 'node:assert/strict';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, beforeEach, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { SlipwayError } from '../../../src/errors.js';
import { applyLayer, type SymlinkPolicy } from '../../../src/layer/index.js';
import { makeTar } from './craft.js';

const work = mkdtempSync(join(tmpdir(), 'slipway-hostile-'));
// target is nested so that `..` escapes land in directories this test owns and can inspect
const outside = join(work, 'outside');
const root = join(outside, 'a', 'root');
const tag = `slipway-test-${process.pid}`;

beforeEach(() => {
  rmSync(outside, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  writeFileSync(join(outside, 'secret'), 'keep');
});
after(() => rmSync(work, { recursive: true, force: true }));

/** Everything under `outside` except the root itself: must stay exactly {a, secret}. */
function outsideListing(): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const n of readdirSync(dir).sort()) {
      const r = rel ? `${rel}/${n}` : n;
      if (r === 'a/root') continue;
      out.push(r);
      if (lstatSync(join(dir, n)).isDirectory()) walk(join(dir, n), r);
    }
  };
  walk(outside, '');
  return out;
}

async function apply(tar: Buffer, policy?: SymlinkPolicy) {
  return applyLayer(Readable.from([gzipSync(tar)]), root, policy ? { symlinkPolicy: policy } : {});
}

async function assertEscapeRejected(tar: Buffer, path: RegExp): Promise<void> {
  await assert.rejects(apply(tar), (e: unknown) => {
    assert.ok(e instanceof SlipwayError, String(e));
    assert.equal(e.code, 'LAYER');
    assert.match(e.message, /^layer tries to write outside the root: /);
    assert.match(e.message, path);
    return true;
  });
  assert.deepEqual(outsideListing(), ['a', 'secret']);
  assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'keep');
}

describe('hostile layers', () => {
  test('../ in a member name', async () => {
    await assertEscapeRejected(makeTar([{ name: '../../secret', body: 'pwned' }]), /\.\.\/\.\.\/secret/);
    await assertEscapeRejected(makeTar([{ name: 'ok/../../../x', body: 'pwned' }]), /x$/);
  });

  test('an absolute member name is confined to the root, as Docker does', async () => {
    await apply(makeTar([{ name: `/etc/${tag}`, body: 'inside' }]));
    assert.equal(readFileSync(join(root, 'etc', tag), 'utf8'), 'inside');
    assert.equal(existsSync(`/etc/${tag}`), false);
    assert.deepEqual(outsideListing(), ['a', 'secret']);
  });

  test('symlink to / then a write through it', async () => {
    const tar = makeTar([
      { name: 'evil', type: 'symlink', link: '/' },
      { name: `evil/etc/${tag}`, body: 'pwned' },
    ]);
    await assertEscapeRejected(tar, new RegExp(`evil/etc/${tag}`));
    assert.equal(existsSync(`/etc/${tag}`), false);
  });

  test('relative symlink climbing out, then a write through it', async () => {
    const tar = makeTar([
      { name: 'up', type: 'symlink', link: '../..' },
      { name: 'up/secret', body: 'pwned' },
    ]);
    await assertEscapeRejected(tar, /up\/secret/);
  });

  test('symlink chain: an in-root link to a link that leaves', async () => {
    const tar = makeTar([
      { name: 'dir', type: 'dir' },
      { name: 'dir/out', type: 'symlink', link: `${outside}` },
      { name: 'hop', type: 'symlink', link: 'dir/out' },
      { name: 'hop/secret', body: 'pwned' },
    ]);
    await assertEscapeRejected(tar, /hop\/secret/);
  });

  test('a symlink placed where a later member expects a directory is replaced, never followed', async () => {
    const tar = makeTar([
      { name: 'd', type: 'symlink', link: outside },
      { name: 'd', type: 'dir' },
      { name: 'd/secret', body: 'inside' },
    ]);
    await apply(tar);
    assert.equal(readFileSync(join(root, 'd', 'secret'), 'utf8'), 'inside');
    assert.deepEqual(outsideListing(), ['a', 'secret']);
  });

  test('a directory members were written into, then swapped for a link out, is not written through', async () => {
    // The first member resolves (and remembers) d; the swap must make the apply look again.
    const tar = makeTar([
      { name: 'd', type: 'dir' },
      { name: 'd/first', body: 'inside' },
      { name: 'd', type: 'symlink', link: outside },
      { name: 'd/secret', body: 'pwned' },
    ]);
    await assertEscapeRejected(tar, /d\/secret/);
  });

  test('the same, relative and under the scoped policy: the write lands inside the root', async () => {
    const tar = makeTar([
      { name: 'x/d', type: 'dir' },
      { name: 'x/d/first', body: 'inside' },
      { name: 'x/d', type: 'symlink', link: '../../../..' },
      { name: 'x/d/secret', body: 'scoped' },
    ]);
    await apply(tar, 'scoped');
    assert.equal(readFileSync(join(root, 'secret'), 'utf8'), 'scoped');
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'keep');
  });

  test('a final-component symlink is replaced by the file, not written through', async () => {
    const tar = makeTar([
      { name: 'f', type: 'symlink', link: join(outside, 'secret') },
      { name: 'f', body: 'inside' },
    ]);
    await apply(tar);
    assert.equal(readFileSync(join(root, 'f'), 'utf8'), 'inside');
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'keep');
  });

  test('hard link to /etc/shadow: resolved inside the root, so missing there, so rejected', async () => {
    await assert.rejects(
      apply(makeTar([{ name: 'shadow', type: 'hardlink', link: '/etc/shadow' }])),
      /points to a missing file/,
    );
    assert.deepEqual(readdirSync(root), []);
  });

  test('hard link climbing out with ..', async () => {
    await assertEscapeRejected(makeTar([{ name: 'x', type: 'hardlink', link: '../../secret' }]), /secret/);
  });

  test('hard link through a symlink that leaves', async () => {
    const tar = makeTar([
      { name: 'out', type: 'symlink', link: outside },
      { name: 'x', type: 'hardlink', link: 'out/secret' },
    ]);
    await assertEscapeRejected(tar, /x$/);
  });

  test('whiteouts cannot delete outside the root', async () => {
    await assertEscapeRejected(makeTar([{ name: '../.wh.secret' }]), /\.wh\.secret/);
    const viaLink = makeTar([{ name: 'out', type: 'symlink', link: outside }, { name: 'out/.wh.secret' }]);
    await assertEscapeRejected(viaLink, /out\/\.wh\.secret/);
    const opaque = makeTar([{ name: 'out', type: 'symlink', link: outside }, { name: 'out/.wh..wh..opq' }]);
    await assertEscapeRejected(opaque, /opq/);
  });

  test('scoped policy: symlinks resolve as if chrooted (Docker/containerd semantics)', async () => {
    const tar = makeTar([
      { name: 'evil', type: 'symlink', link: '/' },
      { name: `evil/etc/${tag}`, body: 'confined' },
      { name: 'up', type: 'symlink', link: '../../..' },
      { name: 'up/x', body: 'confined too' },
    ]);
    await apply(tar, 'scoped');
    assert.equal(readFileSync(join(root, 'etc', tag), 'utf8'), 'confined');
    assert.equal(readFileSync(join(root, 'x'), 'utf8'), 'confined too');
    assert.equal(existsSync(`/etc/${tag}`), false);
    assert.deepEqual(outsideListing(), ['a', 'secret']);
  });

  test('in-root symlinks in parent paths are followed (merged /usr layouts)', async () => {
    const tar = makeTar([
      { name: 'usr', type: 'dir' },
      { name: 'usr/lib', type: 'dir' },
      { name: 'lib', type: 'symlink', link: 'usr/lib' },
      { name: 'lib/libx.so', body: 'lib' },
    ]);
    await apply(tar);
    assert.equal(readFileSync(join(root, 'usr/lib/libx.so'), 'utf8'), 'lib');
  });
});
