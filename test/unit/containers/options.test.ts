import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  expandEnvFlag,
  mergeEnv,
  parseEnvFile,
  parseExposeKeys,
  parseMountFlag,
  parsePublish,
  parseVolumeFlag,
  resolveCommand,
  signalNumber,
} from '../../../src/containers/options.js';
import { SlipwayError } from '../../../src/errors.js';

describe('parsePublish (-p)', () => {
  it('reads Docker forms', () => {
    assert.deepEqual(parsePublish('5000:5000'), [
      { hostIp: '0.0.0.0', hostPort: 5000, containerPort: 5000, proto: 'tcp' },
    ]);
    assert.deepEqual(parsePublish('127.0.0.1:8080:80/udp'), [
      { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, proto: 'udp' },
    ]);
    assert.deepEqual(parsePublish('80'), [
      { hostIp: '0.0.0.0', hostPort: 0, containerPort: 80, proto: 'tcp' },
    ]);
    assert.deepEqual(parsePublish('127.0.0.1::80'), [
      { hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, proto: 'tcp' },
    ]);
    assert.equal(parsePublish('[::1]:80:80')[0]?.hostIp, '::1');
  });
  it('expands ranges', () => {
    assert.deepEqual(
      parsePublish('8000-8001:9000-9001').map((p) => [p.hostPort, p.containerPort]),
      [
        [8000, 9000],
        [8001, 9001],
      ],
    );
  });
  it('rejects nonsense', () => {
    for (const bad of ['abc', '1:2:3:4:x', '80/sctp', '70000', '1-2:3-5']) {
      assert.throws(() => parsePublish(bad), SlipwayError, bad);
    }
  });
});

describe('volumes and mounts', () => {
  it('tells binds, named and anonymous volumes apart', () => {
    assert.deepEqual(parseVolumeFlag('/h:/c:ro', '/x'), {
      type: 'bind',
      source: '/h',
      destination: '/c',
      readonly: true,
      createSource: true,
    });
    assert.deepEqual(parseVolumeFlag('./d:/c', '/x'), {
      type: 'bind',
      source: '/x/d',
      destination: '/c',
      readonly: false,
      createSource: true,
    });
    assert.deepEqual(parseVolumeFlag('data:/c', '/x'), {
      type: 'volume',
      name: 'data',
      destination: '/c',
      readonly: false,
      noCopy: false,
    });
    assert.deepEqual(parseVolumeFlag('/c', '/x'), {
      type: 'volume',
      destination: '/c',
      readonly: false,
      noCopy: false,
    });
    assert.throws(() => parseVolumeFlag('/h:rel', '/x'), SlipwayError);
  });
  it('parses --mount', () => {
    assert.deepEqual(parseMountFlag('type=bind,src=/h,dst=/c,readonly', '/'), {
      type: 'bind',
      source: '/h',
      destination: '/c',
      readonly: true,
      createSource: false,
    });
    assert.deepEqual(parseMountFlag('type=tmpfs,target=/t,tmpfs-size=64m,tmpfs-mode=1770', '/'), {
      type: 'tmpfs',
      destination: '/t',
      sizeBytes: 64 * 1024 * 1024,
      mode: 0o1770,
    });
    assert.deepEqual(parseMountFlag('source=vol,target=/c', '/'), {
      type: 'volume',
      name: 'vol',
      destination: '/c',
      readonly: false,
      noCopy: false,
    });
    assert.throws(() => parseMountFlag('type=bind,target=/c', '/'), SlipwayError);
    assert.throws(() => parseMountFlag('type=bind,src=/h', '/'), SlipwayError);
  });
});

describe('env', () => {
  it('merges like ReplaceOrAppendEnvValues', () => {
    assert.deepEqual(mergeEnv(['PATH=/bin', 'A=1'], ['A=2', 'B=3', 'PATH']), ['A=2', 'B=3']);
  });
  it('takes bare keys from the host', () => {
    assert.equal(expandEnvFlag('HOME', { HOME: '/root' }), 'HOME=/root');
    assert.equal(expandEnvFlag('NOPE', {}), 'NOPE');
    assert.deepEqual(parseEnvFile('# c\nA=1\n\n  B=x y\nC\n', { C: 'c' }), ['A=1', 'B=x y', 'C=c']);
  });
});

describe('resolveCommand', () => {
  const image = { Entrypoint: ['/ep'], Cmd: ['arg'] };
  it('follows Docker entrypoint/cmd rules', () => {
    assert.deepEqual(resolveCommand(image, undefined, []).argv, ['/ep', 'arg']);
    assert.deepEqual(resolveCommand(image, undefined, ['x']).argv, ['/ep', 'x']);
    assert.deepEqual(resolveCommand(image, '/other', []).argv, ['/other']);
    assert.deepEqual(resolveCommand(image, '', []).argv, ['arg']);
    assert.deepEqual(resolveCommand({ Cmd: ['sh'] }, undefined, ['ls']).argv, ['ls']);
  });
});

describe('signals and exposes', () => {
  it('reads names and numbers', () => {
    assert.equal(signalNumber('SIGTERM'), 15);
    assert.equal(signalNumber('kill'), 9);
    assert.equal(signalNumber('2'), 2);
    assert.equal(signalNumber('SIGRTMIN+3'), 37);
    assert.throws(() => signalNumber('SIGNOPE'), SlipwayError);
  });
  it('expands expose ranges', () => {
    assert.deepEqual(parseExposeKeys('80'), ['80/tcp']);
    assert.deepEqual(parseExposeKeys('53/udp'), ['53/udp']);
    assert.deepEqual(parseExposeKeys('8000-8001'), ['8000/tcp', '8001/tcp']);
  });
});
