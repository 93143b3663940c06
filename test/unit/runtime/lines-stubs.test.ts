import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { LineSplitter } from '../../../src/runtime/lines.js';
import { recordMountStubs, resolveInRoot } from '../../../src/runtime/stubs.js';

describe('LineSplitter', () => {
  test('splits across chunks, keeps multi-byte characters whole, flushes the tail', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const bytes = Buffer.from('héllo\nwor');
    s.write(bytes.subarray(0, 2)); // cuts 'é' in half
    s.write(bytes.subarray(2));
    s.write(Buffer.from('ld\n\nlast'));
    s.end();
    assert.deepEqual(lines, ['héllo', 'world', '', 'last']);
  });

  test('very long lines are delivered in pieces', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.write(Buffer.from('x'.repeat(200_000)));
    s.end();
    assert.equal(lines.join('').length, 200_000);
    assert.ok(lines.length >= 3);
  });
});

describe('mount stubs (no container needed)', () => {
  const root = mkdtempSync(join(tmpdir(), 'slipway-stubs-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'etc'));
  mkdirSync(join(root, 'run'));
  writeFileSync(join(root, 'etc/hosts'), '127.0.0.1 localhost\n');
  symlinkSync('../run/systemd/resolve/stub-resolv.conf', join(root, 'etc/resolv.conf'));
  symlinkSync('/../../etc', join(root, 'escape'));

  test('resolveInRoot follows symlinks without leaving the root', () => {
    assert.equal(resolveInRoot(root, '/etc/resolv.conf'), '/run/systemd/resolve/stub-resolv.conf');
    assert.equal(resolveInRoot(root, '/escape/hosts'), '/etc/hosts');
    assert.equal(resolveInRoot(root, '/../../etc/hosts'), '/etc/hosts');
  });

  test('existing targets are not stubs; a dangling symlink target and its parents are', () => {
    const stubs = recordMountStubs(root, ['/etc/hosts', '/etc/resolv.conf']);
    assert.deepEqual(stubs.paths, [
      '/run/systemd/resolve/stub-resolv.conf',
      '/run/systemd/resolve',
      '/run/systemd',
    ]);
    // Simulate runc creating the mount point.
    mkdirSync(join(root, 'run/systemd/resolve'), { recursive: true });
    writeFileSync(join(root, 'run/systemd/resolve/stub-resolv.conf'), '');
    assert.equal(stubs.cleanup().length, 3);
    assert.deepEqual(recordMountStubs(root, ['/etc/resolv.conf']).paths.length, 3);
  });
});
