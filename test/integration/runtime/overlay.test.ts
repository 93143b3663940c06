import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMounted, mountOverlay, unmount } from '../../../src/runtime/overlay.js';
import { OciRuntime } from '../../../src/runtime/runc.js';
import { generateSpec, mountStubCandidates } from '../../../src/runtime/spec.js';
import { recordMountStubs } from '../../../src/runtime/stubs.js';
import { cleanup, makeBusyboxRootfs, PATH_ENV, runtimeSkipReason, tempDir } from './fixtures.js';

const skip = runtimeSkipReason();

describe('overlay mounts', { skip }, () => {
  let dir = '';
  let base = '';
  let runtime: OciRuntime;
  let seq = 0;

  before(() => {
    dir = tempDir('ovl');
    base = makeBusyboxRootfs(join(dir, 'base'));
    runtime = OciRuntime.resolve(undefined, join(dir, 'state'));
  });
  after(async () => {
    for (const t of readdirSync(dir).filter((n) => n.startsWith('merged'))) await unmount(join(dir, t));
    cleanup(dir);
  });

  function layout() {
    const n = seq++;
    return {
      upperDir: join(dir, `upper${n}`),
      workDir: join(dir, `work${n}`),
      target: join(dir, `merged${n}`),
      bundleDir: join(dir, `bundle${n}`),
      id: `slipway-ovl-${process.pid}-${n}`,
    };
  }

  test('RUN writes land in the upper dir; injected /etc files are bind mounts whose stubs are cleaned', async () => {
    const l = layout();
    const etc = join(dir, 'etc-inject');
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'resolv.conf'), 'nameserver 127.0.0.53\n');
    writeFileSync(join(etc, 'hosts'), '127.0.0.1 localhost buildkitsandbox\n');
    await mountOverlay({ lowerDirs: [base], upperDir: l.upperDir, workDir: l.workDir, target: l.target });
    try {
      assert.ok(isMounted(l.target));
      const spec = generateSpec({
        rootfs: l.target,
        args: ['sh', '-c', 'cat /etc/resolv.conf /etc/hosts; echo data > /newfile; mkdir -p /var/lib/x'],
        env: [PATH_ENV],
        etcFiles: { resolvConf: join(etc, 'resolv.conf'), hosts: join(etc, 'hosts') },
        mounts: [{ type: 'tmpfs', destination: '/mnt/cache/deep' }],
      });
      const etcBefore = statSync(join(l.target, 'etc'), { bigint: true });
      const stubs = recordMountStubs(l.target, mountStubCandidates(spec));
      assert.deepEqual(stubs.paths, [
        '/mnt/cache/deep',
        '/etc/hosts',
        '/etc/resolv.conf',
        '/mnt/cache',
        '/mnt',
      ]);
      const out: string[] = [];
      const r = await runtime.run({ bundleDir: l.bundleDir, id: l.id, spec, stdout: (x) => out.push(x) });
      assert.equal(r.exitCode, 0);
      assert.deepEqual(out, ['nameserver 127.0.0.53', '127.0.0.1 localhost buildkitsandbox']);
      // runc created the mount points in the upper dir…
      assert.ok(existsSync(join(l.upperDir, 'etc/resolv.conf')));
      assert.ok(existsSync(join(l.upperDir, 'mnt/cache/deep')));
      assert.equal(stubs.cleanup().length, 5);
      // …and cleanup removes them, leaving only what the process wrote.
      assert.equal(readFileSync(join(l.upperDir, 'newfile'), 'utf8'), 'data\n');
      assert.ok(existsSync(join(l.upperDir, 'var/lib/x')));
      assert.ok(!existsSync(join(l.upperDir, 'etc/resolv.conf')));
      assert.ok(!existsSync(join(l.upperDir, 'etc/hosts')));
      assert.ok(!existsSync(join(l.upperDir, 'mnt')));
      // The copied-up /etc keeps its timestamps, so a differ sees it unchanged.
      const etcAfter = statSync(join(l.upperDir, 'etc'), { bigint: true });
      assert.equal(etcAfter.mtimeNs, etcBefore.mtimeNs);
    } finally {
      await unmount(l.target);
    }
    assert.ok(!isMounted(l.target));
  });

  test('a stub is kept when the process wrote into it', async () => {
    const l = layout();
    await mountOverlay({ lowerDirs: [base], upperDir: l.upperDir, workDir: l.workDir, target: l.target });
    try {
      const spec = generateSpec({ rootfs: l.target, args: ['true'], env: [PATH_ENV] });
      const stubs = recordMountStubs(l.target, ['/srv/data']);
      mkdirSync(join(l.target, 'srv/data'), { recursive: true });
      writeFileSync(join(l.target, 'srv/data/keep'), 'x');
      await runtime.run({ bundleDir: l.bundleDir, id: l.id, spec });
      assert.deepEqual(stubs.cleanup(), []);
      assert.ok(existsSync(join(l.upperDir, 'srv/data/keep')));
    } finally {
      await unmount(l.target);
    }
  });

  test('FROM scratch: zero lower dirs still mounts', async () => {
    const l = layout();
    await mountOverlay({ lowerDirs: [], upperDir: l.upperDir, workDir: l.workDir, target: l.target });
    try {
      writeFileSync(join(l.target, 'hello'), 'x');
      assert.deepEqual(readdirSync(l.target), ['hello']);
      assert.ok(existsSync(join(l.upperDir, 'hello')));
    } finally {
      await unmount(l.target);
    }
  });

  test('read-only overlay with a single lower dir', async () => {
    const l = layout();
    await mountOverlay({ lowerDirs: [base], target: l.target });
    try {
      assert.ok(existsSync(join(l.target, 'bin/busybox')));
      assert.throws(() => writeFileSync(join(l.target, 'nope'), 'x'), /EROFS/);
    } finally {
      await unmount(l.target);
    }
  });

  test('many long lower dirs exceed one page of mount options and still mount, top-most first', async () => {
    const l = layout();
    const layersRoot = join(dir, `layers-with-a-deliberately-long-directory-name-${'x'.repeat(60)}`);
    const lowers: string[] = [];
    for (let i = 0; i < 120; i++) {
      const d = join(layersRoot, `layer-${String(i).padStart(4, '0')}-sha256-${'0'.repeat(40)}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `only-${i}`), String(i));
      writeFileSync(join(d, 'shared'), String(i));
      lowers.push(d);
    }
    assert.ok(lowers.join(':').length > 4096);
    await mountOverlay({ lowerDirs: lowers, upperDir: l.upperDir, workDir: l.workDir, target: l.target });
    try {
      assert.equal(readFileSync(join(l.target, 'shared'), 'utf8'), '0');
      assert.equal(readFileSync(join(l.target, 'only-119'), 'utf8'), '119');
      assert.equal(readdirSync(l.target).length, 121);
    } finally {
      await unmount(l.target);
    }
  });

  test('paths with commas and colons go through the alias dir', async () => {
    const l = layout();
    const odd = join(dir, 'odd,name:with=chars');
    mkdirSync(odd, { recursive: true });
    writeFileSync(join(odd, 'f'), 'odd');
    await mountOverlay({ lowerDirs: [odd], upperDir: l.upperDir, workDir: l.workDir, target: l.target });
    try {
      assert.equal(readFileSync(join(l.target, 'f'), 'utf8'), 'odd');
    } finally {
      await unmount(l.target);
    }
  });

  test('abort of a RUN in an overlay leaves no mount and no runc state', async () => {
    const l = layout();
    await mountOverlay({ lowerDirs: [base], upperDir: l.upperDir, workDir: l.workDir, target: l.target });
    const ac = new AbortController();
    const started = Date.now();
    try {
      const pending = runtime.run({
        bundleDir: l.bundleDir,
        id: l.id,
        spec: generateSpec({ rootfs: l.target, args: ['sleep', '100'], env: [PATH_ENV] }),
        signal: ac.signal,
      });
      await sleep(300);
      ac.abort();
      const r = await pending;
      assert.equal(r.signal, 'SIGKILL');
    } finally {
      await unmount(l.target);
    }
    assert.ok(Date.now() - started < 3000);
    assert.ok(!readFileSync('/proc/mounts', 'utf8').includes(l.target));
    assert.deepEqual(await runtime.list(), []);
  });

  test('unmount of something not mounted is a no-op', async () => {
    await unmount(join(dir, 'never-mounted'));
  });
});
