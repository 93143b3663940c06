import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildContainerOwner } from '../../../src/build/run-step.js';
import { SlipwayError } from '../../../src/errors.js';
import { OciRuntime, type RunOptions, resolveRuntimeBinary } from '../../../src/runtime/runc.js';
import { generateSpec, type SpecOptions } from '../../../src/runtime/spec.js';
import { resolveUser } from '../../../src/runtime/users.js';
import { cleanup, makeBusyboxRootfs, PATH_ENV, runtimeSkipReason, tempDir } from './fixtures.js';

const skip = runtimeSkipReason();

describe('runc driver', { skip }, () => {
  let dir = '';
  let rootfs = '';
  let runtime: OciRuntime;
  let seq = 0;

  before(() => {
    dir = tempDir('runc');
    rootfs = makeBusyboxRootfs(join(dir, 'rootfs'));
    runtime = OciRuntime.resolve(undefined, join(dir, 'state'));
  });
  after(() => cleanup(dir));

  /** Run `args` and collect output lines. */
  async function run(args: string[], spec: Partial<SpecOptions> = {}, extra: Partial<RunOptions> = {}) {
    const id = `slipway-test-${process.pid}-${seq++}`;
    const stdout: string[] = [];
    const stderr: string[] = [];
    const result = await runtime.run({
      bundleDir: join(dir, 'bundles', id),
      id,
      spec: generateSpec({ rootfs, args, env: [PATH_ENV], ...spec }),
      stdout: (l) => stdout.push(l),
      stderr: (l) => stderr.push(l),
      ...extra,
    });
    return { id, result, stdout, stderr };
  }

  test('stdout and stderr are captured line by line', async () => {
    const r = await run(['sh', '-c', 'echo hello; echo oops >&2; printf partial']);
    assert.deepEqual(r.result, { exitCode: 0 });
    assert.deepEqual(r.stdout, ['hello', 'partial']);
    assert.deepEqual(r.stderr, ['oops']);
  });

  test('output lines arrive while the process is still running', async () => {
    const seen: number[] = [];
    const start = Date.now();
    const id = `slipway-test-${process.pid}-${seq++}`;
    await runtime.run({
      bundleDir: join(dir, 'bundles', id),
      id,
      spec: generateSpec({ rootfs, args: ['sh', '-c', 'echo first; sleep 1; echo second'], env: [PATH_ENV] }),
      stdout: () => seen.push(Date.now() - start),
    });
    assert.equal(seen.length, 2);
    assert.ok(seen[1]! - seen[0]! >= 800, `lines were not streamed: ${seen.join(', ')}`);
  });

  test('exit code is propagated', async () => {
    const r = await run(['sh', '-c', 'exit 3']);
    assert.equal(r.result.exitCode, 3);
    assert.equal(r.result.signal, undefined);
  });

  test('a missing executable is reported as the runtime error', async () => {
    const r = await run(['/no/such/binary']);
    assert.notEqual(r.result.exitCode, 0);
    assert.match(r.result.runtimeError ?? '', /no such file or directory/);
  });

  test('env, cwd, hostname and user are applied', async () => {
    const user = resolveUser(rootfs, 'app');
    assert.deepEqual(user, { uid: 1000, gid: 1000, additionalGids: [10, 29] });
    const r = await run(['sh', '-c', 'echo $FOO; pwd; hostname; id -u; id -g; id -G'], {
      env: [PATH_ENV, 'FOO=bar baz'],
      cwd: '/home/app',
      hostname: 'myhost',
      user,
    });
    assert.equal(r.result.exitCode, 0, r.stderr.join('\n'));
    assert.deepEqual(r.stdout, ['bar baz', '/home/app', 'myhost', '1000', '1000', '1000 10 29']);
  });

  test('root gets Docker default capabilities, non-root none effective', async () => {
    const root = await run(['sh', '-c', 'grep -E "^Cap(Eff|Bnd)" /proc/self/status']);
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
    assert.deepEqual(root.stdout, ['CapEff:\t00000000a80425fb', 'CapBnd:\t00000000a80425fb']);
    const app = await run(['sh', '-c', 'grep -E "^CapEff" /proc/self/status'], {
      user: { uid: 1000, gid: 1000 },
    });
    assert.deepEqual(app.stdout, ['CapEff:\t0000000000000000']);
  });

  test('network none has only lo; host network sees the host interfaces', async () => {
    const ifaces = (text: string[]) =>
      text
        .slice(2)
        .map((l) => l.trim().split(':')[0])
        .sort();
    const none = await run(['cat', '/proc/net/dev'], { network: 'none' });
    assert.deepEqual(ifaces(none.stdout), ['lo']);
    const host = await run(['cat', '/proc/net/dev'], { network: 'host' });
    const hostIfaces = ifaces(readFileSync('/proc/net/dev', 'utf8').trim().split('\n'));
    assert.deepEqual(ifaces(host.stdout), hostIfaces);
  });

  test('rlimits: nofile defaults to min(1048576, our hard limit); asked limits are clamped', async () => {
    const hard = Number(/Max open files\s+\d+\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]);
    const def = await run(['sh', '-c', 'ulimit -Sn; ulimit -Hn']);
    const expected = String(Math.min(1048576, hard));
    assert.deepEqual(def.stdout, [expected, expected]);
    const asked = await run(['sh', '-c', 'ulimit -Sn; ulimit -Hn; ulimit -Hu'], {
      ulimits: [
        { name: 'nofile', soft: 1024, hard: 2048 },
        { name: 'nproc', soft: 1e12, hard: 1e12 },
      ],
    });
    assert.equal(asked.result.exitCode, 0, asked.stderr.join('\n'));
    assert.deepEqual(asked.stdout.slice(0, 2), ['1024', '2048']);
    const nprocHard = /Max processes\s+\S+\s+(\S+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    assert.equal(asked.stdout[2], nprocHard);
  });

  test('default mounts: /proc, /dev/shm 64m, /sys read-only, masked paths', async () => {
    const r = await run([
      'sh',
      '-c',
      'df -k /dev/shm | tail -1; touch /sys/x 2>/dev/null || echo sys-ro; cat /proc/kcore | wc -c; ls /dev | sort | tr "\\n" " "',
    ]);
    assert.equal(r.result.exitCode, 0, r.stderr.join('\n'));
    assert.match(r.stdout[0] ?? '', /^shm\s+65536\s/);
    assert.equal(r.stdout[1], 'sys-ro');
    assert.equal(r.stdout[2], '0');
    for (const dev of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'pts', 'shm', 'mqueue']) {
      assert.ok((r.stdout[3] ?? '').split(' ').includes(dev), `missing /dev/${dev}: ${r.stdout[3]}`);
    }
  });

  test('extra mounts: read-only bind, read-write bind, sized tmpfs', async () => {
    const ro = tempDir('ro');
    const rw = tempDir('rw');
    writeFileSync(join(ro, 'f'), 'from-host\n');
    try {
      const r = await run(
        [
          'sh',
          '-c',
          'cat /ro/f; touch /ro/g 2>/dev/null || echo ro-denied; echo w > /rw/out; df -k /scratch | tail -1',
        ],
        {
          mounts: [
            { type: 'bind', source: ro, destination: '/ro', readonly: true },
            { type: 'bind', source: rw, destination: '/rw' },
            { type: 'tmpfs', destination: '/scratch', sizeBytes: 8 * 1024 * 1024 },
          ],
        },
      );
      assert.equal(r.result.exitCode, 0, r.stderr.join('\n'));
      assert.deepEqual(r.stdout.slice(0, 2), ['from-host', 'ro-denied']);
      assert.match(r.stdout[2] ?? '', /^tmpfs\s+8192\s/);
      assert.equal(readFileSync(join(rw, 'out'), 'utf8'), 'w\n');
    } finally {
      cleanup(ro);
      cleanup(rw);
    }
  });

  test('stdin is fed to the process when given', async () => {
    const { Readable } = await import('node:stream');
    const r = await run(['sh', '-c', 'tr a-z A-Z'], {}, { stdin: Readable.from(['piped input\n']) });
    assert.deepEqual(r.stdout, ['PIPED INPUT']);
  });

  test('abort kills the container quickly and leaves no runc state', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const pending = run(['sleep', '100'], {}, { signal: ac.signal });
    await sleep(300);
    ac.abort();
    const r = await pending;
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 3000, `abort took ${elapsed} ms`);
    assert.equal(r.result.signal, 'SIGKILL');
    assert.equal(r.result.exitCode, 137);
    assert.deepEqual(await runtime.list(), []);
    assert.equal(runtime.hasState(r.id), false);
  });

  test('abort right after start still kills the container', async () => {
    const ac = new AbortController();
    const pending = run(['sleep', '100'], {}, { signal: ac.signal });
    ac.abort();
    const r = await pending;
    assert.equal(r.result.signal, 'SIGKILL');
    assert.deepEqual(await runtime.list(), []);
  });

  test('detached lifecycle: create, start, state, kill, delete', async () => {
    const id = `slipway-detached-${process.pid}`;
    const bundleDir = join(dir, 'bundles', id);
    const logs = join(dir, `${id}.log`);
    await runtime.create({
      bundleDir,
      id,
      spec: generateSpec({ rootfs, args: ['sh', '-c', 'echo up; exec sleep 100'], env: [PATH_ENV] }),
      stdoutFile: logs,
      stderrFile: logs,
      pidFile: join(bundleDir, 'pid'),
    });
    try {
      assert.equal((await runtime.state(id)).status, 'created');
      await runtime.start(id);
      const st = await runtime.state(id);
      assert.equal(st.status, 'running');
      assert.equal(Number(readFileSync(join(bundleDir, 'pid'), 'utf8')), st.pid);
      for (let i = 0; i < 50 && !readFileSync(logs, 'utf8').includes('up'); i++) await sleep(20);
      assert.equal(readFileSync(logs, 'utf8'), 'up\n');
      await runtime.kill(id, 'KILL');
      for (let i = 0; i < 100 && (await runtime.state(id)).status !== 'stopped'; i++) await sleep(20);
      assert.equal((await runtime.state(id)).status, 'stopped');
    } finally {
      await runtime.delete(id, { force: true });
    }
    assert.equal(runtime.hasState(id), false);
    await assert.rejects(
      runtime.state(id),
      (e: unknown) => e instanceof SlipwayError && e.code === 'RUNTIME',
    );
  });

  test('a killed build’s RUN container is reaped; a live build’s is left alone', async () => {
    // What `kill -9` of `slipway build` during a RUN step leaves: its container running, owned by a dead PID.
    const dead = spawnSync('true').pid!;
    const orphan = `slipway-build-${dead}-0123456789abcdef`;
    const live = `slipway-build-${process.pid}-fedcba9876543210`;
    for (const id of [orphan, live]) {
      const bundleDir = join(dir, 'bundles', id);
      await runtime.create({
        bundleDir,
        id,
        spec: generateSpec({ rootfs, args: ['sleep', '100'], env: [PATH_ENV] }),
        stdoutFile: join(dir, `${id}.log`),
        stderrFile: join(dir, `${id}.log`),
      });
      await runtime.start(id);
    }
    try {
      assert.equal(buildContainerOwner(orphan), dead);
      // Another store's orphans are its own builds' business.
      const elsewhere = { bundleUnder: join(dir, 'elsewhere/') };
      assert.deepEqual(await runtime.reapOrphans(buildContainerOwner, elsewhere), []);
      assert.equal((await runtime.state(orphan)).status, 'running');
      const here = { bundleUnder: join(dir, 'bundles/') };
      assert.deepEqual(await runtime.reapOrphans(buildContainerOwner, here), [orphan]);
      assert.equal(runtime.hasState(orphan), false);
      assert.equal((await runtime.state(live)).status, 'running');
    } finally {
      for (const id of [orphan, live]) await runtime.delete(id, { force: true }).catch(() => {});
    }
  });
});

describe('runtime selection', () => {
  test('finds runc in the sbin dirs even when $PATH lacks them', { skip }, () => {
    const p = resolveRuntimeBinary(undefined, { PATH: '/nonexistent' });
    assert.ok(p.endsWith('/runc') && existsSync(p));
  });

  test('no runtime at all is a RUNTIME error naming the Debian package', () => {
    assert.throws(
      () => resolveRuntimeBinary(undefined, { PATH: '/nonexistent' }, []),
      (e: unknown) =>
        e instanceof SlipwayError &&
        e.code === 'RUNTIME' &&
        e.message === 'no OCI runtime found: install the Debian package "runc"',
    );
  });

  test('an unknown --runtime name or path is an error', () => {
    assert.throws(
      () => resolveRuntimeBinary('no-such-runtime', { PATH: '/nonexistent' }, []),
      /"no-such-runtime" not found/,
    );
    assert.throws(() => resolveRuntimeBinary('/no/such/runc'), /not found or not executable/);
  });
});
