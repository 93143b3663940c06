import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeBusyboxRootfs } from '../runtime/fixtures.js';
import { cli, containerTestsSkipReason } from './harness.js';

// What the docker CLI (20.10, the reference dockerd here) prints and returns where slipway differed.
const skip = containerTestsSkipReason();
let root = '';
let scratch = '';
// Run as the file itself: Node's own option parsing (`--env-file`) is part of what is tested.
const { sw, ok } = cli(() => root, 'shebang');

describe('container commands as the docker CLI words them', { skip }, () => {
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'slipway-parity-'));
    root = join(scratch, 'root');
    const rootfs = makeBusyboxRootfs(join(scratch, 'rootfs'));
    const tar = join(scratch, 'busybox.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
    ok(['import', tar, 'busybox']);
  });

  after(() => {
    if (existsSync(join(root, 'containers'))) {
      for (const id of ok(['ps', '-aq', '--no-trunc']).split('\n').filter(Boolean)) sw(['rm', '-f', id]);
    }
    const mounts = readFileSync('/proc/mounts', 'utf8');
    if (!mounts.includes(` ${scratch}/`)) rmSync(scratch, { recursive: true, force: true });
  });

  it('frames run/create failures as docker/cli does: full stop, help only for a failed create', () => {
    const missing = join(scratch, 'no-such-env-file');
    // Node 20 used to take this `--env-file` as its own and exit 9 before slipway ran.
    assert.deepEqual(sw(['run', '--rm', '--network', 'none', '--env-file', missing, 'busybox', 'true']), {
      code: 125,
      stdout: '',
      stderr: `slipway: open ${missing}: no such file or directory.\nSee 'slipway run --help'.\n`,
    });
    assert.deepEqual(sw(['run', '--rm', '--network', 'none', '-w', 'rel', 'busybox', 'true']), {
      code: 125,
      stdout: '',
      stderr:
        "slipway: Error response from daemon: the working directory 'rel' is invalid, it needs to be an absolute path.\n" +
        "See 'slipway run --help'.\n",
    });
    const src = join(scratch, 'no-such-dir');
    assert.deepEqual(
      sw(['run', '--rm', '--network', 'none', '--mount', `type=bind,src=${src},dst=/b`, 'busybox', 'true']),
      {
        code: 125,
        stdout: '',
        stderr: `slipway: Error response from daemon: invalid mount config for type "bind": bind source path does not exist: ${src}.\nSee 'slipway run --help'.\n`,
      },
    );
    // A start failure: docker/cli reports it without the help hint.
    assert.deepEqual(sw(['run', '--rm', '--network', 'none', '-u', 'nosuchuser', 'busybox', 'id']), {
      code: 125,
      stdout: '',
      stderr:
        'slipway: Error response from daemon: unable to find user nosuchuser: no matching entries in passwd file.\n',
    });
    const notFound = sw(['run', '--rm', '--network', 'none', 'busybox', 'nosuch']);
    assert.equal(notFound.code, 127);
    assert.match(notFound.stderr, /exec: "nosuch": executable file not found in \$PATH: unknown\.\n$/);
    // docker create hands the daemon's error back unframed, with status 1.
    assert.deepEqual(sw(['create', '--network', 'none', '--stop-signal', 'FOO', 'busybox', 'true']), {
      code: 1,
      stdout: '',
      stderr: 'Error response from daemon: Invalid signal: FOO\n',
    });
    assert.equal(ok(['ps', '-aq']), '');
  });

  it('start -a shows only the new run, not the log of earlier ones', () => {
    assert.equal(ok(['run', '--name', 'twice', '--network', 'none', 'busybox', 'echo', 'one']), 'one\n');
    assert.equal(ok(['start', '-a', 'twice']), 'one\n');
    assert.equal(ok(['logs', 'twice']), 'one\none\n');
    ok(['rm', 'twice']);
  });

  it('ps -n 0 lists like plain ps; -l yields to an explicit -n', () => {
    const up = ok(['run', '-d', '--name', 'up', '--network', 'none', 'busybox', 'sleep', '60']).trim();
    ok(['create', '--name', 'made1', '--network', 'none', 'busybox', 'true']);
    ok(['create', '--name', 'made2', '--network', 'none', 'busybox', 'true']);
    assert.equal(ok(['ps', '-n', '0', '--format', '{{.Names}}']), 'up\n');
    assert.equal(ok(['ps', '-l', '-n', '2', '--format', '{{.Names}}']), 'made2\nmade1\n');
    assert.equal(ok(['ps', '-l', '--format', '{{.Names}}']), 'made2\n');
    ok(['rm', '-f', up, 'made1', 'made2']);
  });

  it('gives the process its primary group as a supplementary group, in run and exec -u', () => {
    const run = (user: string) =>
      ok(['run', '--rm', '--network', 'none', '-u', user, 'busybox', 'sh', '-c', 'id -G']);
    assert.equal(run('0'), '0 29\n', 'root, member of audio in /etc/group');
    assert.equal(run('1000:1000'), '1000\n');
    assert.equal(run('app'), '1000 10 29\n');
    ok(['run', '-d', '--name', 'grp', '--network', 'none', '-u', 'app', 'busybox', 'sleep', '60']);
    assert.equal(ok(['exec', 'grp', 'id', '-G']), '1000 10 29\n');
    // exec -u replaces the container's groups; runc's --additional-gids would only add to them.
    assert.equal(ok(['exec', '-u', 'root', '-w', '/tmp', 'grp', 'sh', '-c', 'id -G; pwd']), '0 29\n/tmp\n');
    assert.equal(ok(['exec', '-u', '1000:1000', 'grp', 'id', '-G']), '1000\n');
    ok(['rm', '-f', 'grp']);
  });
});
