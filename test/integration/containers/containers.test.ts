import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeBusyboxRootfs } from '../runtime/fixtures.js';
import { CLI, cli, containerTestsSkipReason } from './harness.js';

const skip = containerTestsSkipReason({ slirp: true });
let root = '';
let scratch = '';
const { sw, ok } = cli(() => root, 'node');

function record(id: string): { state: { status: string; supervisorPid: number; exitCode: number } } {
  return JSON.parse(readFileSync(join(root, 'containers', id, 'config.json'), 'utf8'));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitGone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (!alive(pid)) return true;
    await sleep(50);
  }
  return false;
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .filter((l) => l.split(' ')[1]?.startsWith(dir));
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function httpGet(url: string): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(url);
      return await r.text();
    } catch (e) {
      if (i > 40) throw e;
      await sleep(100);
    }
  }
}

describe('containers (real runc)', { skip }, () => {
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'slipway-ctr-'));
    root = join(scratch, 'root');
    const rootfs = makeBusyboxRootfs(join(scratch, 'rootfs'));
    const tar = join(scratch, 'busybox.tar');
    execFileSync('tar', ['-C', rootfs, '-cf', tar, '.']);
    ok(['import', tar, 'busybox']);
  });

  after(async () => {
    // Stop whatever a failed test left behind, by PID, then remove it.
    if (existsSync(join(root, 'containers'))) {
      for (const id of ok(['ps', '-aq', '--no-trunc']).split('\n').filter(Boolean)) {
        const pid = record(id).state.supervisorPid;
        sw(['rm', '-f', id]);
        if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
    assert.deepEqual(mountsUnder(scratch), []);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('foreground run returns the exit code and streams output; --rm removes', () => {
    const r = sw(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(ok(['ps', '-aq']), '');
  });

  it('applies -e, -v, -w, -u, --entrypoint and -i', () => {
    const host = join(scratch, 'vol');
    mkdirSync(host, { mode: 0o777 });
    chmodSync(host, 0o777);
    writeFileSync(join(host, 'f'), 'from-host');
    const out = ok([
      'run',
      '--rm',
      '-e',
      'FOO=bar',
      '-v',
      `${host}:/data`,
      '-w',
      '/work',
      '-u',
      'app',
      '--entrypoint',
      '/bin/sh',
      'busybox',
      '-c',
      'echo $FOO; cat /data/f; echo; pwd; id -u; echo x > /data/g',
    ]);
    assert.equal(out, 'bar\nfrom-host\n/work\n1000\n');
    assert.equal(readFileSync(join(host, 'g'), 'utf8'), 'x\n');
    assert.equal(ok(['run', '--rm', '-i', 'busybox', 'cat'], 'piped\n'), 'piped\n');
    assert.equal(ok(['run', '--rm', '--network', 'none', 'busybox', 'ls', '/sys/class/net']), 'lo\n');
  });

  it('reports start failures and name conflicts in Docker words', () => {
    const r = sw(['run', '--rm', 'busybox', 'no-such-binary']);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /executable file not found/);
    ok(['run', '--name', 'once', 'busybox', 'true']);
    const again = sw(['run', '--name', 'once', 'busybox', 'true']);
    assert.equal(again.code, 125);
    assert.match(
      again.stderr,
      /Conflict\. The container name "\/once" is already in use by container "[0-9a-f]{64}"/,
    );
    const missing = sw(['stop', 'nope']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error response from daemon: No such container: nope\n');
    ok(['rm', 'once']);
  });

  it('runs a detached web server with a published port, then stops and removes it cleanly', async () => {
    const www = join(scratch, 'www');
    mkdirSync(www);
    writeFileSync(join(www, 'index.html'), 'hello from slipway\n');
    const port = await freePort();
    const id = ok([
      'run',
      '-d',
      '--name',
      'web',
      '-p',
      `127.0.0.1:${port}:8080`,
      '-v',
      `${www}:/www:ro`,
      'busybox',
      'httpd',
      '-f',
      '-p',
      '8080',
      '-h',
      '/www',
    ]).trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const supervisor = record(id).state.supervisorPid;
    assert.ok(alive(supervisor));
    assert.equal(await httpGet(`http://127.0.0.1:${port}/`), 'hello from slipway\n');

    const ps = ok(['ps']);
    assert.match(
      ps,
      new RegExp(
        `^${id.slice(0, 12)} +busybox +"httpd -f -p 8080 -h…" .* Up .* 127\\.0\\.0\\.1:${port}->8080/tcp +web$`,
        'm',
      ),
    );
    assert.equal(ok(['port', 'web']), `8080/tcp -> 127.0.0.1:${port}\n`);
    assert.equal(
      ok(['exec', id.slice(0, 5), 'sh', '-c', 'echo $HOSTNAME; cat /www/index.html']),
      `${id.slice(0, 12)}\nhello from slipway\n`,
    );
    assert.equal(
      ok(['exec', '-u', 'app', '-w', '/tmp', '-e', 'X=1', 'web', 'sh', '-c', 'id -u; pwd; echo $X']),
      '1000\n/tmp\n1\n',
    );
    const inspect = JSON.parse(ok(['container', 'inspect', 'web'])) as Array<{
      State: { Status: string };
      Name: string;
    }>;
    assert.equal(inspect[0]?.State.Status, 'running');
    assert.equal(inspect[0]?.Name, '/web');

    const busy = sw(['run', '-d', '-p', `127.0.0.1:${port}:8080`, 'busybox', 'true']);
    assert.equal(busy.code, 125);
    assert.match(busy.stderr, /port is already allocated/);

    ok(['exec', 'web', 'sh', '-c', 'echo logged > /proc/1/fd/1']);
    assert.equal(ok(['logs', 'web']), 'logged\n');
    assert.equal(ok(['stop', '-t', '1', 'web']), 'web\n');
    assert.match(ok(['ps', '-a', '--filter', 'name=^web$', '--format', '{{.Status}}']), /^Exited \(137\) /);
    assert.ok(await waitGone(supervisor), 'supervisor still running after stop');
    assert.deepEqual(mountsUnder(join(root, 'containers', id)), []);
    assert.equal(ok(['rm', 'web']), 'web\n');
    assert.ok(!existsSync(join(root, 'containers', id)));
    assert.ok(!existsSync(join('/run/slipway/runc', id)));
  });

  it('shows a container as exited once its supervisor is killed; rm -f and prune clean up', async () => {
    const id = ok(['run', '-d', 'busybox', 'sleep', '300']).trim();
    const supervisor = record(id).state.supervisorPid;
    process.kill(supervisor, 'SIGKILL');
    assert.ok(await waitGone(supervisor));
    const status = ok(['ps', '-a', '--format', '{{.ID}} {{.Status}}']);
    assert.match(status, new RegExp(`^${id.slice(0, 12)} Exited \\(137\\)`, 'm'));
    assert.deepEqual(mountsUnder(join(root, 'containers', id)), []);

    const running = ok(['run', '-d', 'busybox', 'sleep', '300']).trim();
    const runningSup = record(running).state.supervisorPid;
    const refused = sw(['rm', running]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /container is running: stop the container before removing or force remove/);
    assert.equal(ok(['rm', '-f', running.slice(0, 12)]), `${running.slice(0, 12)}\n`);
    assert.ok(await waitGone(runningSup));

    const pruned = ok(['container', 'prune', '-f']);
    assert.match(pruned, /^Deleted Containers:\n/);
    assert.match(pruned, new RegExp(`^${id}$`, 'm'));
    assert.match(pruned, /\nTotal reclaimed space: \S+\n$/);
    assert.equal(ok(['ps', '-aq']), '');
    assert.deepEqual(mountsUnder(join(root, 'containers')), []);
  });
  it('restart stops a container and starts it again; stop -t rejects a non-integer', () => {
    const id = ok(['run', '-d', '--name', 'again', 'busybox', 'sleep', '300']).trim();
    const before = record(id).state.supervisorPid;
    assert.equal(ok(['restart', '-t', '1', 'again']), 'again\n');
    const after = record(id).state;
    assert.equal(after.status, 'running');
    assert.notEqual(after.supervisorPid, before);
    const bad = sw(['stop', '-t', 'x', 'again']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid argument "x" for "-t, --timeout" flag/);
    assert.equal(ok(['rm', '-f', 'again']), 'again\n');
  });

  it('gives -t a real terminal: /dev/pts, TERM, CRLF output, exec -t, inspect', () => {
    const r = sw([
      'run',
      '--rm',
      '-t',
      'busybox',
      'sh',
      '-c',
      'tty; echo $TERM; [ -t 0 ] && echo stdin-tty; exit 4',
    ]);
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout, '/dev/pts/0\r\nxterm\r\nstdin-tty\r\n');
    const refused = sw(['run', '--rm', '-it', 'busybox', 'true']);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, 'the input device is not a TTY\n');

    const id = ok(['run', '-dt', '--name', 'term', 'busybox', 'sh']).trim();
    assert.equal(ok(['inspect', '-f', '{{.Config.Tty}} {{.State.Running}}', 'term']), 'true true\n');
    assert.match(ok(['exec', '-t', 'term', 'tty']), /^\/dev\/pts\/\d+\r\n$/);
    assert.equal(ok(['exec', 'term', 'sh', '-c', '[ -t 1 ] || echo no-tty']), 'no-tty\n');
    assert.equal(ok(['rm', '-f', id]), `${id}\n`);

    // docker create + start -a: the terminal is decided at create time.
    ok(['create', '-t', '--name', 'created-tty', 'busybox', 'tty']);
    assert.equal(ok(['start', '-a', 'created-tty']), '/dev/pts/0\r\n');
    assert.equal(ok(['rm', 'created-tty']), 'created-tty\n');
  });

  it('runs an interactive shell under -it from a terminal and returns its exit code', async () => {
    const pty = await import('@lydell/node-pty');
    const term = pty.spawn(process.execPath, [CLI, '--root', root, 'run', '-it', '--rm', 'busybox', 'sh'], {
      cols: 100,
      rows: 30,
      env: process.env as Record<string, string>,
    });
    let screen = '';
    const exited = new Promise<number>((resolve) => term.onExit(({ exitCode }) => resolve(exitCode)));
    term.onData((d) => {
      screen += d;
    });
    const waitFor = async (text: string) => {
      for (let i = 0; i < 200 && !screen.includes(text); i++) await sleep(50);
      assert.ok(screen.includes(text), `never saw ${JSON.stringify(text)} in ${JSON.stringify(screen)}`);
    };
    await waitFor('/ # ');
    term.write('stty size; echo $((6*7))\r');
    await waitFor('42');
    assert.match(screen, /30 100\r?\r\n/);
    term.write('exit 5\r');
    assert.equal(await exited, 5);
    assert.equal(ok(['ps', '-aq']), '');
  });
});
