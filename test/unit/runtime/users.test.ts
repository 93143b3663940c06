import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SlipwayError } from '../../../src/errors.js';
import { readLayeredFile } from '../../../src/runtime/layered.js';
import {
  chownFromDb,
  lookupUserGroupForChown,
  parseGroup,
  parsePasswd,
  resolveUser,
  resolveUserFromDb,
  type UserDb,
} from '../../../src/runtime/users.js';

const db: UserDb = {
  passwd: parsePasswd(
    [
      'root:x:0:0:root:/root:/bin/bash',
      '  ',
      'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
      'app:x:1000:1000:App:/home/app:/bin/sh',
      'odd:x:notanumber:7::/:',
    ].join('\n'),
  ),
  group: parseGroup(
    [
      'root:x:0:',
      'daemon:x:1:',
      'app:x:1000:',
      'wheel:x:10:app,root',
      'docker:x:999:app',
      'staff:x:50:',
    ].join('\n'),
  ),
};

const fails = (re: RegExp) => (e: unknown) => e instanceof SlipwayError && re.test(e.message);

describe('resolveUser (BuildKit GetUser / runc GetExecUser)', () => {
  test('parsing follows libcontainer/user', () => {
    assert.deepEqual(db.passwd?.[3], { name: 'odd', uid: 0, gid: 7, home: '/', shell: '' });
    assert.deepEqual(db.group?.[3], { name: 'wheel', gid: 10, members: ['app', 'root'] });
  });

  test('empty and uid:gid take the fast path without groups', () => {
    assert.deepEqual(resolveUserFromDb(db, ''), { uid: 0, gid: 0, additionalGids: [] });
    assert.deepEqual(resolveUserFromDb(db, '1000:1000'), { uid: 1000, gid: 1000, additionalGids: [] });
    assert.deepEqual(resolveUserFromDb(db, 'root:root'), { uid: 0, gid: 0, additionalGids: [] });
  });

  test('a name gets its passwd ids and its supplementary groups', () => {
    assert.deepEqual(resolveUserFromDb(db, 'app'), { uid: 1000, gid: 1000, additionalGids: [10, 999] });
    assert.deepEqual(resolveUserFromDb(db, 'root'), { uid: 0, gid: 0, additionalGids: [10] });
  });

  test('a number found in passwd behaves like the name', () => {
    assert.deepEqual(resolveUserFromDb(db, '1000'), { uid: 1000, gid: 1000, additionalGids: [10, 999] });
  });

  test('a number not in passwd is fine, with gid 0', () => {
    assert.deepEqual(resolveUserFromDb(db, '4242'), { uid: 4242, gid: 0, additionalGids: [] });
    assert.deepEqual(resolveUserFromDb({ passwd: undefined, group: undefined }, '4242'), {
      uid: 4242,
      gid: 0,
      additionalGids: [],
    });
  });

  test('an explicit group replaces the primary one and drops supplementary groups', () => {
    assert.deepEqual(resolveUserFromDb(db, 'app:staff'), { uid: 1000, gid: 50, additionalGids: [] });
    assert.deepEqual(resolveUserFromDb(db, 'app:4000'), { uid: 1000, gid: 4000, additionalGids: [] });
    assert.deepEqual(resolveUserFromDb(db, '4242:staff'), { uid: 4242, gid: 50, additionalGids: [] });
  });

  test("unknown names fail with Docker's messages", () => {
    assert.throws(
      () => resolveUserFromDb(db, 'nobody'),
      fails(/^unable to find user nobody: no matching entries in passwd file$/),
    );
    assert.throws(
      () => resolveUserFromDb({ passwd: undefined, group: undefined }, 'app'),
      fails(/^unable to find user app: no matching entries in passwd file$/),
    );
    assert.throws(
      () => resolveUserFromDb(db, 'app:nogroup'),
      fails(/^unable to find group nogroup: no matching entries in group file$/),
    );
    assert.throws(() => resolveUserFromDb(db, '-5'), fails(/uids and gids must be in range/));
  });
});

describe('chown (COPY --chown, BuildKit semantics)', () => {
  test('numbers', () => {
    assert.deepEqual(chownFromDb(db, '1000'), { uid: 1000, gid: 1000 });
    assert.deepEqual(chownFromDb(db, '1000:50'), { uid: 1000, gid: 50 });
    assert.deepEqual(chownFromDb(db, 'root'), { uid: 0, gid: 0 });
  });

  test('names resolve through passwd and group', () => {
    assert.deepEqual(chownFromDb(db, 'app'), { uid: 1000, gid: 1000 });
    assert.deepEqual(chownFromDb(db, 'app:staff'), { uid: 1000, gid: 50 });
    assert.deepEqual(chownFromDb(db, '1:wheel'), { uid: 1, gid: 10 });
    assert.deepEqual(chownFromDb(db, ':staff'), { uid: 0, gid: 50 });
  });

  test('unknown names silently stay 0 (BuildKit), `user:` means group 0', () => {
    assert.deepEqual(chownFromDb(db, 'ghost'), { uid: 0, gid: 0 });
    assert.deepEqual(chownFromDb(db, 'app:ghost'), { uid: 1000, gid: 1000 });
    assert.deepEqual(chownFromDb(db, 'app:'), { uid: 1000, gid: 0 });
  });
});

describe('reading /etc files from layer dirs', () => {
  const root = mkdtempSync(join(tmpdir(), 'slipway-layers-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const layer = (name: string, files: Record<string, string>) => {
    const d = join(root, name);
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(join(d, p, '..'), { recursive: true });
      writeFileSync(join(d, p), text);
    }
    mkdirSync(d, { recursive: true });
    return d;
  };

  test('upper layers win; OCI and overlay whiteouts hide lower files; opaque dirs hide', () => {
    const lower = layer('lower', { 'etc/passwd': 'app:x:1:1::/:\n', 'etc/group': 'g:x:5:\n' });
    const mid = layer('mid', { 'etc/passwd': 'app:x:2:2::/:\n' });
    const upper = layer('upper', { 'etc/other': '' });
    assert.equal(readLayeredFile([upper, mid, lower], 'etc/passwd')?.toString(), 'app:x:2:2::/:\n');
    assert.deepEqual(resolveUser([upper, mid, lower], 'app'), { uid: 2, gid: 2, additionalGids: [] });

    const wh = layer('wh', { 'etc/.wh.passwd': '' });
    assert.equal(readLayeredFile([wh, mid, lower], '/etc/passwd'), undefined);

    const opq = layer('opq', { 'etc/.wh..wh..opq': '' });
    assert.equal(readLayeredFile([opq, lower], '/etc/group'), undefined);
    assert.equal(readLayeredFile([upper, lower], '/etc/group')?.toString(), 'g:x:5:\n');

    // overlayfs' own whiteout is a 0/0 character device (creating one needs root).
    if (process.getuid?.() === 0) {
      const ovl = layer('ovl', {});
      mkdirSync(join(ovl, 'etc'));
      execFileSync('mknod', [join(ovl, 'etc/passwd'), 'c', '0', '0']);
      assert.equal(readLayeredFile([ovl, lower], '/etc/passwd'), undefined);
    }
  });

  test('symlinks are followed inside the layer stack', () => {
    const lower = layer('lnk-lower', { 'usr/lib/passwd': 'app:x:3:3::/:\n' });
    const upper = layer('lnk-upper', {});
    mkdirSync(join(upper, 'etc'));
    symlinkSync('../usr/lib/passwd', join(upper, 'etc/passwd'));
    assert.equal(readLayeredFile([upper, lower], '/etc/passwd')?.toString(), 'app:x:3:3::/:\n');
  });

  test('chown lookup skips the files for numeric specs', () => {
    assert.deepEqual(lookupUserGroupForChown(['/nonexistent'], '5:6'), { uid: 5, gid: 6 });
    const l = layer('chown', { 'etc/passwd': 'www:x:33:33::/:\n', 'etc/group': 'www:x:33:\nlog:x:4:\n' });
    assert.deepEqual(lookupUserGroupForChown([l], 'www:log'), { uid: 33, gid: 4 });
  });
});
