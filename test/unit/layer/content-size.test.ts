import assert from 'node:assert/strict';
import { test } from 'node:test';
import { importedBytes, regularFileBytes } from '../../../src/layer/content-size.js';
import { type TarHeader, TYPEFLAG } from '../../../src/layer/tar-header.js';

const header = (typeflag: number, size: number, linkname = ''): TarHeader => ({
  name: 'x',
  typeflag,
  mode: 0o644,
  uid: 0,
  gid: 0,
  size,
  mtime: 0,
  linkname,
  devmajor: 0,
  devminor: 0,
  xattrs: new Map(),
});

// What dockerd 20.10 shows: `COPY . /x/` of an 86-byte Dockerfile, a 6-byte file and a link to it is
// 92 B in `docker history`; `docker import` of busybox adds 7 B per `-> busybox` link.
test('a built layer counts regular files only; an imported one adds symlink targets', () => {
  const members = [
    header(TYPEFLAG.file, 86),
    header(TYPEFLAG.file, 6),
    header(TYPEFLAG.symlink, 0, 'busybox'),
    header(TYPEFLAG.hardlink, 0, 'x'),
    header(TYPEFLAG.dir, 0),
  ];
  assert.equal(
    members.reduce((n, h) => n + regularFileBytes(h), 0),
    92,
  );
  assert.equal(
    members.reduce((n, h) => n + importedBytes(h), 0),
    99,
  );
});
