import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SlipwayError } from '../../../src/errors.js';
import {
  DEFAULT_CAPABILITIES,
  hostCapabilities,
  resolveCapabilities,
} from '../../../src/runtime/capabilities.js';
import { parseProcLimits, parseUlimit, toOciRlimits } from '../../../src/runtime/rlimits.js';
import { generateSpec, mountStubCandidates, serializeSpec } from '../../../src/runtime/spec.js';

const base = { rootfs: '/var/lib/slipway/merged', args: ['sh', '-c', 'true'] };
const hard = new Map([
  ['RLIMIT_NOFILE', 20000],
  ['RLIMIT_NPROC', 96364],
]);

describe('generateSpec', () => {
  test('Docker/BuildKit defaults', () => {
    const s = generateSpec({ ...base, ulimits: [] });
    assert.equal(s.process.terminal, false);
    assert.deepEqual(s.process.user, { uid: 0, gid: 0 });
    assert.equal(s.process.cwd, '/');
    assert.equal(s.process.noNewPrivileges, false);
    assert.equal(s.hostname, 'buildkitsandbox');
    assert.deepEqual(s.root, { path: '/var/lib/slipway/merged', readonly: false });
    assert.deepEqual(
      s.linux.namespaces.map((n) => n.type),
      ['pid', 'ipc', 'uts', 'mount'],
    );
    assert.deepEqual(
      s.mounts.map((m) => `${m.destination}:${m.type}`),
      ['/proc:proc', '/dev:tmpfs', '/dev/pts:devpts', '/dev/shm:tmpfs', '/dev/mqueue:mqueue', '/sys:sysfs'],
    );
    assert.ok(s.mounts.find((m) => m.destination === '/dev/shm')?.options?.includes('size=65536k'));
    assert.ok(s.mounts.find((m) => m.destination === '/sys')?.options?.includes('ro'));
    assert.ok(s.linux.maskedPaths.includes('/proc/kcore'));
    assert.ok(s.linux.readonlyPaths.includes('/proc/sys'));
    assert.deepEqual(s.linux.resources?.devices, [{ allow: false, access: 'rwm' }]);
  });

  test("default capabilities are Docker's 14 (all held by root here)", () => {
    const s = generateSpec(base);
    const expected = DEFAULT_CAPABILITIES.filter((c) => hostCapabilities().includes(c));
    assert.deepEqual(s.process.capabilities.bounding, expected);
    assert.deepEqual(s.process.capabilities.effective, expected);
    assert.deepEqual(s.process.capabilities.permitted, expected);
    assert.equal(DEFAULT_CAPABILITIES.length, 14);
  });

  test('network modes', () => {
    assert.ok(!generateSpec({ ...base, network: 'host' }).linux.namespaces.some((n) => n.type === 'network'));
    assert.deepEqual(
      generateSpec({ ...base, network: 'none' }).linux.namespaces.find((n) => n.type === 'network'),
      { type: 'network' },
    );
    assert.deepEqual(
      generateSpec({ ...base, network: { netnsPath: '/run/netns/x' } }).linux.namespaces.find(
        (n) => n.type === 'network',
      ),
      { type: 'network', path: '/run/netns/x' },
    );
  });

  test('user, env, cwd, hostname and cgroup mount are passed through', () => {
    const s = generateSpec({
      ...base,
      user: { uid: 1000, gid: 1001, additionalGids: [10] },
      env: ['A=1'],
      cwd: '/work/./dir/',
      hostname: 'h',
      cgroupMount: true,
      cgroupsPath: '/slipway/x',
    });
    assert.deepEqual(s.process.user, { uid: 1000, gid: 1001, additionalGids: [10] });
    assert.deepEqual(s.process.env, ['A=1']);
    assert.equal(s.process.cwd, '/work/dir/');
    assert.equal(s.hostname, 'h');
    assert.ok(s.mounts.some((m) => m.destination === '/sys/fs/cgroup' && m.options?.includes('ro')));
    assert.equal(s.linux.cgroupsPath, '/slipway/x');
  });

  test('extra mounts: binds, tmpfs with size, parents first, later wins on the same target', () => {
    const s = generateSpec({
      ...base,
      etcFiles: { resolvConf: '/tmp/r', hosts: '/tmp/h', hostname: '/tmp/hn' },
      mounts: [
        { type: 'bind', source: '/src/a', destination: '/mnt/a/b', readonly: true },
        { type: 'tmpfs', destination: '/mnt', sizeBytes: 1048576, mode: 0o1777 },
        { type: 'tmpfs', destination: '/dev/shm', sizeBytes: 2048 },
      ],
    });
    const extra = s.mounts.slice(s.mounts.findIndex((m) => m.destination === '/sys') + 1);
    assert.deepEqual(extra, [
      {
        destination: '/etc/resolv.conf',
        type: 'bind',
        source: '/tmp/r',
        options: ['nosuid', 'noexec', 'nodev', 'rbind', 'ro'],
      },
      {
        destination: '/etc/hosts',
        type: 'bind',
        source: '/tmp/h',
        options: ['nosuid', 'noexec', 'nodev', 'rbind', 'ro'],
      },
      {
        destination: '/etc/hostname',
        type: 'bind',
        source: '/tmp/hn',
        options: ['nosuid', 'noexec', 'nodev', 'rbind', 'ro'],
      },
      {
        destination: '/mnt',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'size=1048576', 'mode=1777'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=2048'] },
      { destination: '/mnt/a/b', type: 'bind', source: '/src/a', options: ['rbind', 'ro'] },
    ]);
    assert.equal(s.mounts.filter((m) => m.destination === '/dev/shm').length, 1);
    assert.deepEqual(mountStubCandidates(s), [
      '/etc/resolv.conf',
      '/etc/hosts',
      '/etc/hostname',
      '/mnt',
      '/mnt/a/b',
    ]);
  });

  test('bad input is a SlipwayError', () => {
    const isRuntime = (e: unknown) => e instanceof SlipwayError && e.code === 'RUNTIME';
    assert.throws(() => generateSpec({ ...base, args: [] }), isRuntime);
    assert.throws(() => generateSpec({ ...base, cwd: 'relative' }), isRuntime);
    assert.throws(() => generateSpec({ ...base, rootfs: 'rel' }), isRuntime);
    assert.throws(
      () => generateSpec({ ...base, mounts: [{ type: 'bind', source: 'x', destination: '/x' }] }),
      isRuntime,
    );
    assert.throws(() => generateSpec({ ...base, capAdd: ['NOT_A_CAP'] }), /unknown capability/);
  });

  test('rlimits are clamped to our hard limits; infinity is serialized as 2^64-1', () => {
    assert.deepEqual(
      toOciRlimits(
        [
          { name: 'nofile', soft: 1048576, hard: 1048576 },
          { name: 'nproc', soft: 100, hard: Number.POSITIVE_INFINITY },
          { name: 'core', soft: Number.POSITIVE_INFINITY, hard: Number.POSITIVE_INFINITY },
        ],
        hard,
      ),
      [
        { type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 },
        { type: 'RLIMIT_NPROC', soft: 100, hard: 96364 },
        { type: 'RLIMIT_CORE', soft: Number.POSITIVE_INFINITY, hard: Number.POSITIVE_INFINITY },
      ],
    );
    const s = generateSpec({ ...base, ulimits: [{ name: 'core', soft: 0, hard: Number.POSITIVE_INFINITY }] });
    const json = serializeSpec(s);
    if (s.process.rlimits?.[0]?.hard === Number.POSITIVE_INFINITY) {
      assert.match(json, /"hard":18446744073709551615/);
    }
    assert.equal(JSON.parse(json.replace(/18446744073709551615/g, '0')).process.args[0], 'sh');
  });
});

describe('ulimits and limits parsing', () => {
  test('parseUlimit follows docker --ulimit', () => {
    assert.deepEqual(parseUlimit('nofile=1024'), { name: 'nofile', soft: 1024, hard: 1024 });
    assert.deepEqual(parseUlimit('nofile=1024:2048'), { name: 'nofile', soft: 1024, hard: 2048 });
    assert.deepEqual(parseUlimit('core=-1'), {
      name: 'core',
      soft: Number.POSITIVE_INFINITY,
      hard: Number.POSITIVE_INFINITY,
    });
    assert.throws(() => parseUlimit('bogus=1'), /invalid ulimit type: bogus/);
    assert.throws(() => parseUlimit('nofile'), /invalid ulimit argument/);
    assert.throws(() => parseUlimit('nofile=2:1'), /soft limit must be less than or equal to hard limit/);
  });

  test('parseProcLimits reads hard limits', () => {
    const text = [
      'Limit                     Soft Limit           Hard Limit           Units     ',
      'Max processes             96364                96364                processes ',
      'Max open files            1024                 20000                files     ',
      'Max core file size        0                    unlimited            bytes     ',
    ].join('\n');
    const m = parseProcLimits(text);
    assert.equal(m.get('RLIMIT_NOFILE'), 20000);
    assert.equal(m.get('RLIMIT_NPROC'), 96364);
    assert.equal(m.get('RLIMIT_CORE'), Number.POSITIVE_INFINITY);
  });
});

describe('capabilities', () => {
  test('CapBnd mask decides what we can grant', () => {
    const caps = hostCapabilities('CapBnd:\t000001fffeffffff\n');
    assert.ok(!caps.includes('CAP_SYS_RESOURCE'));
    assert.ok(caps.includes('CAP_SYS_ADMIN'));
  });

  test('cap-add / cap-drop', () => {
    const withAdmin = resolveCapabilities(['NET_ADMIN'], ['CAP_MKNOD']);
    assert.ok(withAdmin.includes('CAP_NET_ADMIN'));
    assert.ok(!withAdmin.includes('CAP_MKNOD'));
    assert.deepEqual(resolveCapabilities(['CHOWN'], ['ALL']), ['CAP_CHOWN']);
    assert.ok(resolveCapabilities(['ALL']).length > 14);
  });
});
