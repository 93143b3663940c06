import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { busyboxTarball, slipway, tempDir, writeTree } from '../../helpers/cli.js';

const isRoot = process.getuid?.() === 0;
const root = tempDir('hostile-build-root');

function stepRecords(): number {
  try {
    return readdirSync(join(root, 'cache', 'steps')).length;
  } catch {
    return 0;
  }
}

function historyLength(ref: string): number {
  const r = slipway(root, ['history', '-q', ref]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n').length;
}

function inspect(ref: string, format: string): string {
  const r = slipway(root, ['inspect', '-f', format, ref]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('hostile build input', { skip: isRoot ? false : 'needs root for the store' }, () => {
  // rm(1): Node's rmSync recurses once per directory and overflows on the deep test's snapshots.
  after(() => spawnSync('rm', ['-rf', '--', root]));

  test('a context 2000 directories deep is copied and its layer applied in seconds', () => {
    const busybox = busyboxTarball();
    assert.ok(busybox, 'busybox-static is installed');
    assert.equal(slipway(root, ['import', busybox, 'busybox']).status, 0);
    const ctx = tempDir('ctx-deep');
    after(() => spawnSync('rm', ['-rf', '--', ctx]));
    const deep = join(ctx, ...Array.from({ length: 2000 }, () => 'd'));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'leaf'), 'x');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY . /ctx/\nRUN find /ctx -name leaf | wc -c\n');
    const started = Date.now();
    const r = slipway(root, ['build', '--progress=plain', '-t', 'deep', ctx]);
    // The copy recursed once per directory (a stack overflow at 2000); applying the layer walked
    // every directory's parents again for each one (a minute at 1500).
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    assert.match(r.stderr.slice(-3000), /^#\d+ [\d.]+ 4010$/m, 'the leaf is in the image');
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });

  test('20k config-only steps build in seconds and write no cache record per step', () => {
    const ctx = tempDir('ctx-labels');
    const lines = ['FROM scratch'];
    for (let i = 0; i < 20000; i++) lines.push(i % 2 ? `LABEL l${i}=${'x'.repeat(40)}` : `EXPOSE ${i + 1}`);
    writeTree(ctx, { Dockerfile: `${lines.join('\n')}\n` });
    const records = stepRecords();
    const started = Date.now();
    const r = slipway(root, ['build', '-q', '-t', 'many-labels', ctx]);
    assert.equal(r.status, 0, r.stderr);
    // Each step copied the whole config and stored it again: minutes and gigabytes before.
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
    assert.ok(stepRecords() - records <= 1, `${stepRecords() - records} new step records`);
    assert.equal(
      inspect('many-labels', '{{len .Config.Labels}} {{len .Config.ExposedPorts}}'),
      '10000 10000',
    );
    assert.equal(historyLength('many-labels'), 20000);
    // Only the first entry's time is kept, and the rest take it: a rebuild is the same image.
    const again = slipway(root, ['build', '-q', '-t', 'many-labels', ctx]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, r.stdout);
  });

  test("a child stage's labels and ports stay out of its parent and its siblings", () => {
    const ctx = tempDir('ctx-stages');
    writeTree(ctx, {
      Dockerfile:
        'FROM scratch AS p\nLABEL x=1\nEXPOSE 1\nFROM p AS c\nLABEL y=2\nEXPOSE 2\nFROM p\nLABEL z=3\nEXPOSE 3\n',
    });
    for (const [target, tag] of [
      ['', 'stage-last'],
      ['c', 'stage-c'],
      ['p', 'stage-p'],
    ] as const) {
      const r = slipway(root, ['build', '-q', ...(target ? ['--target', target] : []), '-t', tag, ctx]);
      assert.equal(r.status, 0, r.stderr);
    }
    const shape = '{{json .Config.Labels}} {{json .Config.ExposedPorts}}';
    assert.equal(inspect('stage-last', shape), '{"x":"1","z":"3"} {"1/tcp":{},"3/tcp":{}}');
    assert.equal(inspect('stage-c', shape), '{"x":"1","y":"2"} {"1/tcp":{},"2/tcp":{}}');
    assert.equal(inspect('stage-p', shape), '{"x":"1"} {"1/tcp":{}}');
    assert.deepEqual(['stage-last', 'stage-c', 'stage-p'].map(historyLength), [4, 4, 2]);
  });
});
