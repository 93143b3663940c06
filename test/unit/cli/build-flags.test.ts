import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addIgnoredBuildFlags,
  checkIgnoredBuildFlags,
  checkProgressFlag,
  checkSshFlag,
  dropIgnoredBoolValues,
  type IgnoredBuildFlags,
  parseNetworkFlag,
} from '../../../src/cli/commands/build-flags.js';
import { dockerCommand, dockerHelp, parseFlags } from '../../../src/cli/flags.js';

function parse(args: string[]): IgnoredBuildFlags {
  const cmd = addIgnoredBuildFlags(dockerCommand('build', '[OPTIONS] PATH', 'Build').argument('[path]'));
  assert.equal(parseFlags(cmd, args), 'ok');
  return cmd.opts<IgnoredBuildFlags>();
}

test('the flags BuildKit ignores are accepted, hidden from --help, and change nothing', () => {
  const args = ['--rm', '--force-rm', '--compress', '--stream', '--disable-content-trust'];
  args.push('--shm-size', '1g', '-m', '512m', '--memory-swap', '-1', '--ulimit', 'nofile=1024:2048');
  args.push('-c', '2', '--cpu-period', '1000', '--cpu-quota', '500', '--cpuset-cpus', '0-1');
  args.push('--cpuset-mems', '0', '--cgroup-parent', 'p', '--isolation', 'default', '.');
  const o = parse(args);
  assert.doesNotThrow(() => checkIgnoredBuildFlags(o));
  const cmd = addIgnoredBuildFlags(dockerCommand('build', '[OPTIONS] PATH', 'Build'));
  assert.doesNotMatch(dockerHelp(cmd), /--rm|--shm-size|--ulimit|--memory|--squash/);
});

test('their values are checked as pflag and go-units check them, in docker words', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--shm-size', 'bogus'], /^invalid argument "bogus" for "--shm-size" flag: invalid size: 'bogus'$/],
    [['-m', '1x'], /for "-m, --memory" flag: invalid size: '1x'/],
    [['--ulimit', 'bogus'], /for "--ulimit" flag: invalid ulimit argument: bogus$/],
    [['--ulimit', 'foo=1'], /invalid ulimit type: foo$/],
    [['--ulimit', 'nofile=2:1'], /soft limit must be less than or equal to hard limit: 2 > 1$/],
    [['-c', 'x'], /for "-c, --cpu-shares" flag: strconv.ParseInt: parsing "x": invalid syntax$/],
  ];
  for (const [args, message] of bad) {
    assert.throws(
      () => checkIgnoredBuildFlags(parse([...args, '.'])),
      (e: Error & { code?: string; hint?: string }) =>
        message.test(e.message) && e.code === 'USAGE' && e.hint === "See 'slipway build --help'.",
    );
  }
});

test('the flags docker refuses on Linux fail, not pass unnoticed', () => {
  for (const args of [['--squash'], ['--security-opt', 'seccomp=unconfined'], ['--isolation', 'hyperv']]) {
    assert.throws(() => checkIgnoredBuildFlags(parse([...args, '.'])), { code: 'UNSUPPORTED' });
  }
});

test('--network takes what BuildKit takes, --progress only the known modes', () => {
  assert.equal(parseNetworkFlag(''), 'default');
  assert.equal(parseNetworkFlag('host'), 'host');
  assert.equal(parseNetworkFlag('none'), 'none');
  assert.throws(() => parseNetworkFlag('bridge'), /network mode "bridge" not supported by buildkit/);
  assert.doesNotThrow(() => checkProgressFlag('plain'));
  assert.throws(() => checkProgressFlag('bogus'), /invalid value "bogus" passed to --progress/);
});

test('--rm=false and the other ignored booleans take a value, as pflag lets them', () => {
  const args = dropIgnoredBoolValues(['--rm=false', '--force-rm=true', '--compress=1', '--rm=maybe', '-t=x']);
  assert.deepEqual(args, ['--rm', '--force-rm', '--compress', '--rm=maybe', '-t=x']);
  assert.doesNotThrow(() => parse([...args.slice(0, 3), '.']));
});

test('--ssh default is the agent RUN --mount=type=ssh forwards; other sources are refused', () => {
  assert.doesNotThrow(() => checkSshFlag(['default'], { SSH_AUTH_SOCK: '/tmp/agent' }));
  assert.throws(() => checkSshFlag(['default'], {}), /make sure SSH_AUTH_SOCK is set/);
  assert.throws(() => checkSshFlag(['id=/key'], { SSH_AUTH_SOCK: '/tmp/agent' }), { code: 'UNSUPPORTED' });
});
