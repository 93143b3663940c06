import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readIgnoreFile } from '../../../src/context/ignoreFile.js';
import { IgnoreMatcher } from '../../../src/context/matcher.js';
import { walkContext } from '../../../src/context/walk.js';
import { isSlipwayError } from '../../../src/errors.js';
import { loadCases } from './cases.js';

const data = loadCases();
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'slipway-walk-'));
  dirs.push(d);
  return d;
}

async function makeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [p, content] of Object.entries(files)) {
    await mkdir(join(root, p, '..'), { recursive: true });
    await writeFile(join(root, p), content);
  }
}

/** What a build can open through the filtered view: listed by the walk and not excluded. */
function openable(m: IgnoreMatcher, root: string, p: string): boolean {
  return existsSync(join(root, p)) && !m.matches(p);
}

describe('context walk cases (fsutil)', () => {
  for (const c of data.walk) {
    test(c.id, async () => {
      const root = await tempDir();
      for (const [p, kind] of c.tree) {
        if (kind === 'dir') await mkdir(join(root, p), { recursive: true });
        else {
          await mkdir(join(root, p, '..'), { recursive: true });
          await writeFile(join(root, p), '');
        }
      }
      if (c.error !== undefined) {
        assert.throws(
          () => new IgnoreMatcher(c.excludePatterns),
          (e: unknown) => isSlipwayError(e),
        );
        return;
      }
      const m = new IgnoreMatcher(c.excludePatterns);
      const entries = await walkContext(root, m);
      const listing = entries.map((e) => `${e.type} ${e.path}`);
      if (c.expectedWalk !== undefined) assert.deepEqual(listing, c.expectedWalk);
      for (const p of c.openable ?? []) {
        assert.ok(openable(m, root, p), `${p} should be openable`);
        assert.ok(listing.includes(`file ${p}`), `${p} should be walked`);
      }
      for (const p of c.notFound ?? []) {
        assert.ok(!openable(m, root, p), `${p} should not be found`);
        assert.ok(!listing.includes(`file ${p}`), `${p} should not be walked`);
      }
    });
  }
});

describe('build scenarios, context side (buildkit)', () => {
  for (const s of data.contextScenarios) {
    const builds = s.builds ?? [
      {
        dockerfile: 'Dockerfile',
        present: Object.keys(s.present ?? {}),
        absent: s.absent ?? [],
      },
    ];
    test(s.id, async () => {
      const root = await tempDir();
      const files: Record<string, string> = {};
      for (const [p, content] of Object.entries(s.files)) files[p] = content ?? s.dockerfile ?? '';
      await makeFiles(root, files);
      for (const b of builds) {
        const ignore = await readIgnoreFile(root, b.dockerfile);
        if (s.expectError) {
          assert.throws(
            () => new IgnoreMatcher(ignore.patterns),
            (e: unknown) =>
              isSlipwayError(e) && e.code === 'DOCKERIGNORE' && e.file === join(root, '.dockerignore'),
          );
          continue;
        }
        const entries = await walkContext(root, new IgnoreMatcher(ignore.patterns));
        const paths = new Set(entries.map((e) => e.path));
        for (const p of b.present) assert.ok(paths.has(p), `${b.dockerfile}: ${p} should be in the context`);
        for (const p of b.absent)
          assert.ok(!paths.has(p), `${b.dockerfile}: ${p} should not be in the context`);
        for (const [p, content] of Object.entries(s.present ?? {})) {
          assert.equal(await readFile(join(root, p), 'utf8'), content);
        }
        if (s.present !== undefined) {
          // `COPY . .` copies exactly the walked files.
          assert.deepEqual([...paths].sort(), Object.keys(s.present).sort());
        }
      }
    });
  }
});

describe('walker details', () => {
  test('pre-order, byte-order names, symlinks not followed', async () => {
    const root = await tempDir();
    await makeFiles(root, { 'a/b': 'x', 'a-c': 'y', 'B/z': 'z', é: '', 'target/t': 't' });
    await symlink('target', join(root, 'link'));
    await symlink('missing', join(root, 'dangling'));
    const entries = await walkContext(root, undefined);
    assert.deepEqual(
      entries.map((e) => `${e.type} ${e.path}`),
      [
        'dir B',
        'file B/z',
        'dir a',
        'file a/b',
        'file a-c',
        'symlink dangling',
        'symlink link',
        'dir target',
        'file target/t',
        'file é',
      ],
    );
    const link = entries.find((e) => e.path === 'link');
    assert.equal(link?.linkTarget, 'target');
    const file = entries.find((e) => e.path === 'a/b');
    assert.equal(file?.size, 1);
    assert.equal(file?.nlink, 1);
    assert.ok((file?.ino ?? 0) > 0);
  });

  test('an ignored directory with no possible exception is not descended', async () => {
    const root = await tempDir();
    await makeFiles(root, { 'node_modules/x/y': '', 'src/a.js': '' });
    let visited = 0;
    const m = new IgnoreMatcher(['node_modules']);
    const orig = m.matchInWalk.bind(m);
    m.matchInWalk = (p, s) => {
      visited++;
      return orig(p, s);
    };
    const entries = await walkContext(root, m);
    assert.deepEqual(
      entries.map((e) => e.path),
      ['src', 'src/a.js'],
    );
    // node_modules, src, src/a.js: nothing below node_modules was even matched.
    assert.equal(visited, 3);
  });

  test('wildcard exceptions re-include deep files and their directories', async () => {
    const root = await tempDir();
    await makeFiles(root, { 'vendor/x/keep.go': '', 'vendor/x/drop.c': '', 'main.go': '', README: '' });
    const entries = await walkContext(root, new IgnoreMatcher(['*', '!**/*.go']));
    assert.deepEqual(
      entries.map((e) => `${e.type} ${e.path}`),
      ['file main.go', 'dir vendor', 'dir vendor/x', 'file vendor/x/keep.go'],
    );
  });

  test('a pattern that only fails at match time fails the walk', async () => {
    const root = await tempDir();
    await makeFiles(root, { x: '' });
    await assert.rejects(walkContext(root, new IgnoreMatcher(['[Local-Only]/'])), (e: unknown) =>
      isSlipwayError(e),
    );
  });

  test('a name that is not valid UTF-8 fails the walk instead of going missing', async () => {
    const root = await tempDir();
    await makeFiles(root, { 'ok.txt': '', 'd/inner': '' });
    await writeFile(Buffer.from(`${root}/d/lat\xe9n`, 'latin1'), 'x');
    // A name that really holds U+FFFD is valid UTF-8 and is walked.
    await writeFile(join(root, 'd', 'repl\uFFFD'), 'x');
    await assert.rejects(
      walkContext(root, undefined),
      (e: unknown) =>
        isSlipwayError(e) && e.code === 'CONTEXT' && /"d\/lat\\xe9n".*not valid UTF-8/.test(e.message),
    );
    await rm(Buffer.from(`${root}/d/lat\xe9n`, 'latin1'));
    const entries = await walkContext(root, undefined);
    assert.ok(entries.some((e) => e.path === 'd/repl\uFFFD'));
  });

  test('a missing context is a CONTEXT error', async () => {
    await assert.rejects(
      walkContext('/nonexistent/slipway-ctx', undefined),
      (e: unknown) => isSlipwayError(e) && e.code === 'CONTEXT',
    );
  });
});
