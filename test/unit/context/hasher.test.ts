import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ContextHasher, digestSelection, entriesUnder } from '../../../src/context/hasher.js';
import { walkContext } from '../../../src/context/walk.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function setup(): Promise<{ root: string; cache: string }> {
  const base = await mkdtemp(join(tmpdir(), 'slipway-hash-'));
  dirs.push(base);
  const root = join(base, 'ctx');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(root, 'a.txt'), 'hello\n');
  await writeFile(join(root, 'sub', 'b.txt'), 'world\n');
  // Old mtimes: freshly written files are "racily clean" and deliberately not trusted from cache.
  const old = new Date(Date.now() - 60_000);
  await utimes(join(root, 'a.txt'), old, old);
  await utimes(join(root, 'sub', 'b.txt'), old, old);
  return { root, cache: join(base, 'cache', 'context.json') };
}

async function digestOf(root: string, cache: string): Promise<{ digest: string; hasher: ContextHasher }> {
  const hasher = await ContextHasher.open(cache);
  const entries = await walkContext(root, undefined);
  const digest = await digestSelection(entries, hasher, root);
  await hasher.save();
  return { digest, hasher };
}

describe('ContextHasher', () => {
  test('file digest is sha256 of contents', async () => {
    const { root, cache } = await setup();
    const hasher = await ContextHasher.open(cache);
    const [entry] = (await walkContext(root, undefined)).filter((e) => e.path === 'a.txt');
    assert.ok(entry);
    assert.equal(
      await hasher.fileDigest(join(root, 'a.txt'), entry),
      'sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03',
    );
  });

  test('a no-op rebuild reads nothing; the cache survives reopening', async () => {
    const { root, cache } = await setup();
    const first = await digestOf(root, cache);
    assert.equal(first.hasher.stats.misses, 2);
    const second = await digestOf(root, cache);
    assert.equal(second.digest, first.digest);
    assert.deepEqual(second.hasher.stats, { hits: 2, misses: 0, bytesRead: 0 });
    assert.match(first.digest, /^sha256:[0-9a-f]{64}$/);
  });

  test('touching a file re-hashes it but keeps the digest', async () => {
    const { root, cache } = await setup();
    const first = await digestOf(root, cache);
    const later = new Date(Date.now() - 30_000);
    await utimes(join(root, 'a.txt'), later, later);
    const second = await digestOf(root, cache);
    assert.equal(second.digest, first.digest);
    assert.equal(second.hasher.stats.misses, 1);
    assert.equal(second.hasher.stats.hits, 1);
  });

  test('changing content changes the digest', async () => {
    const { root, cache } = await setup();
    const first = await digestOf(root, cache);
    // Same size as before; an edit moves mtime, which is what invalidates the record.
    await writeFile(join(root, 'a.txt'), 'HELLO\n');
    const edited = new Date(Date.now() - 10_000);
    await utimes(join(root, 'a.txt'), edited, edited);
    const second = await digestOf(root, cache);
    assert.notEqual(second.digest, first.digest);
    assert.equal(second.hasher.stats.misses, 1);
    // That save wrote the new record over the old one in place; the next build trusts it.
    const third = await digestOf(root, cache);
    assert.equal(third.digest, second.digest);
    assert.deepEqual(third.hasher.stats, { hits: 2, misses: 0, bytesRead: 0 });
  });

  test('recently modified files are not trusted from cache (racy clean)', async () => {
    const { root, cache } = await setup();
    await writeFile(join(root, 'a.txt'), 'fresh\n');
    await digestOf(root, cache);
    const second = await digestOf(root, cache);
    assert.equal(second.hasher.stats.misses, 1);
  });

  test('mode and symlink targets are part of the selection digest; paths can be rebased', async () => {
    const { root, cache } = await setup();
    const hasher = await ContextHasher.open(cache);
    const entries = await walkContext(root, undefined);
    const all = await digestSelection(entries, hasher, root);
    const { chmod, symlink } = await import('node:fs/promises');
    await chmod(join(root, 'a.txt'), 0o600);
    const changed = await digestSelection(await walkContext(root, undefined), hasher, root);
    assert.notEqual(changed, all);
    await symlink('a.txt', join(root, 'l'));
    const withLink = await digestSelection(await walkContext(root, undefined), hasher, root);
    assert.notEqual(withLink, changed);
    const sub = entriesUnder(entries, 'sub');
    assert.deepEqual(
      sub.map((e) => e.path),
      ['sub', 'sub/b.txt'],
    );
    assert.notEqual(
      await digestSelection(sub, hasher, root),
      await digestSelection(sub, hasher, root, { base: 'sub' }),
    );
  });

  test('save is atomic and leaves no temp files; a corrupt cache starts empty', async () => {
    const { root, cache } = await setup();
    await digestOf(root, cache);
    const files = await readdir(join(cache, '..'));
    assert.deepEqual(files, ['context.json']);
    await writeFile(cache, '{"v":1,"entries":');
    const again = await digestOf(root, cache);
    assert.equal(again.hasher.stats.misses, 2);
  });

  test('prune drops records that were not used', async () => {
    const { root, cache } = await setup();
    await digestOf(root, cache);
    const { rm: remove, stat } = await import('node:fs/promises');
    const before = (await stat(cache)).size;
    await remove(join(root, 'sub'), { recursive: true });
    const hasher = await ContextHasher.open(cache);
    await digestSelection(await walkContext(root, undefined), hasher, root);
    await hasher.save({ prune: true });
    assert.ok((await stat(cache)).size < before);
    const again = await ContextHasher.open(cache);
    await digestSelection(await walkContext(root, undefined), again, root);
    assert.deepEqual(again.stats, { hits: 1, misses: 0, bytesRead: 0 });
  });
});
