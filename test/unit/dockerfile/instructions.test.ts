// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variable syntax, not JS templates
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseInstruction } from '../../../src/dockerfile/instructions/parse.js';
import { StageScope } from '../../../src/dockerfile/instructions/scope.js';
import type { Command, Instruction } from '../../../src/dockerfile/instructions/types.js';
import { parseDockerfile } from '../../../src/dockerfile/parser.js';
import { isSlipwayError } from '../../../src/errors.js';

function one(line: string): Instruction {
  const node = parseDockerfile(line).instructions[0];
  assert.ok(node);
  return parseInstruction(node, { file: 'Dockerfile' });
}

function cmd(line: string): Command {
  const ins = one(line);
  assert.notEqual(ins.kind, 'from');
  return ins as Command;
}

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isSlipwayError(e), String(e));
    return e.message;
  }
  assert.fail('expected an error');
}

function scope(
  env: string[] = [],
  buildArgs: Record<string, string> = {},
  global: Record<string, string> = {},
) {
  return StageScope.fromImageEnv(env, {
    escapeToken: '\\',
    globalArgs: new Map(Object.entries(global)),
    buildArgs,
  });
}

describe('typed instructions', () => {
  it('FROM with platform and stage name', () => {
    const ins = one('FROM --platform=$BUILDPLATFORM golang:1.22 AS Build');
    assert.equal(ins.kind, 'from');
    assert.deepEqual([ins.baseName, ins.stageName, ins.platform], ['golang:1.22', 'build', '$BUILDPLATFORM']);
    assert.equal(
      message(() => one('FROM a AS 1x')),
      'invalid name for build stage: "1x", name can\'t start with a number or contain symbols',
    );
    assert.equal(
      message(() => one('FROM a b')),
      'FROM requires either one or three arguments',
    );
    assert.equal(
      message(() => one('FROM --platfrom=x a')),
      'unknown flag: --platfrom (did you mean platform?)',
    );
  });

  it('RUN flags, exec and shell form', () => {
    const run = one('RUN --mount=type=cache,target=/c --network=none --security=insecure echo hi');
    assert.equal(run.kind, 'run');
    assert.deepEqual(run.cmdLine, ['echo hi']);
    assert.equal(run.prependShell, true);
    assert.equal(run.network, 'none');
    assert.equal(run.security, 'insecure');
    assert.deepEqual(run.mountSpecs, ['type=cache,target=/c']);
    assert.equal(run.mounts, null);
    assert.deepEqual(run.flagsUsed, ['mount', 'network', 'security']);
    const exec = one('RUN ["echo", "hi"]');
    assert.equal(exec.kind, 'run');
    assert.deepEqual([exec.cmdLine, exec.prependShell], [['echo', 'hi'], false]);
    assert.equal(
      message(() => one('RUN --network=bridge true')),
      'invalid network mode "bridge"',
    );
    assert.equal(
      message(() => one('RUN --security=x true')),
      'security "x" is not valid',
    );
    assert.equal(
      message(() => one('RUN --mount=from=$X,target=/x true')),
      "'from' doesn't support variable expansion, define alias stage instead",
    );
    const dev = one('RUN --device=vendor/gpu,required true');
    assert.equal(dev.kind, 'run');
    assert.deepEqual(dev.devices, [{ name: 'vendor/gpu', required: true }]);
  });

  it('CMD, ENTRYPOINT and SHELL', () => {
    const c = one('CMD echo $HOME');
    assert.equal(c.kind, 'cmd');
    assert.deepEqual([c.cmdLine, c.prependShell], [['echo $HOME'], true]);
    const e = one('ENTRYPOINT []');
    assert.equal(e.kind, 'entrypoint');
    assert.deepEqual([e.cmdLine, e.prependShell], [[], false]);
    const s = one('SHELL ["/bin/bash", "-c"]');
    assert.equal(s.kind, 'shell');
    assert.deepEqual(s.shell, ['/bin/bash', '-c']);
    assert.equal(
      message(() => one('SHELL /bin/bash -c')),
      'SHELL requires the arguments to be in JSON form',
    );
  });

  it('COPY and ADD flags', () => {
    const c = one(
      'COPY --from=0 --chown=1:2 --chmod=u+x --link --parents --exclude=*.md --exclude=.git a b /dst/',
    );
    assert.equal(c.kind, 'copy');
    assert.deepEqual(
      [c.from, c.chown, c.chmod, c.link, c.parents, c.excludePatterns, c.sourcePaths, c.destPath],
      ['0', '1:2', 'u+x', true, true, ['*.md', '.git'], ['a', 'b'], '/dst/'],
    );
    const a = one('ADD --checksum=sha256:abc --keep-git-dir --unpack=false https://x/y.tgz /y');
    assert.equal(a.kind, 'add');
    assert.deepEqual([a.checksum, a.keepGitDir, a.unpack], ['sha256:abc', true, false]);
    const plain = one('ADD a b');
    assert.equal(plain.kind, 'add');
    assert.equal(plain.unpack, undefined);
    assert.equal(
      message(() => one('COPY --checksum=x a b')),
      'unknown flag: --checksum',
    );
    assert.equal(
      message(() => one('ADD --from=x a b')),
      'unknown flag: --from',
    );
    assert.equal(
      message(() => one('COPY --link=yes a b')),
      'expecting boolean value for flag --link, not: yes',
    );
    assert.equal(
      message(() => one('COPY --chown a b')),
      'missing a value on flag: --chown',
    );
  });

  it('HEALTHCHECK forms and durations', () => {
    const h = one(
      'HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=0 --start-interval=2s --retries=3 CMD ["curl", "-f", "x"]',
    );
    assert.equal(h.kind, 'healthcheck');
    assert.deepEqual(h.health, {
      test: ['CMD', 'curl', '-f', 'x'],
      interval: 90_000_000_000n,
      timeout: 500_000_000n,
      startPeriod: 0n,
      startInterval: 2_000_000_000n,
      retries: 3,
    });
    const none = one('HEALTHCHECK NONE');
    assert.equal(none.kind, 'healthcheck');
    assert.deepEqual(none.health.test, ['NONE']);
    assert.equal(
      message(() => one('HEALTHCHECK NONE x')),
      'HEALTHCHECK NONE takes no arguments',
    );
    assert.equal(
      message(() => one('HEALTHCHECK --interval=-5s CMD x')),
      'Interval "interval" cannot be less than 1ms',
    );
    assert.equal(
      message(() => one('HEALTHCHECK --timeout=5 CMD x')),
      'time: missing unit in duration "5"',
    );
    assert.equal(
      message(() => one('HEALTHCHECK --retries=-1 CMD x')),
      '--retries cannot be negative (-1)',
    );
    assert.equal(
      message(() => one('HEALTHCHECK --retries=x CMD x')),
      'strconv.ParseInt: parsing "x": invalid syntax',
    );
    assert.equal(
      message(() => one('HEALTHCHECK FOO x')),
      'Unknown type "FOO" in HEALTHCHECK (try CMD)',
    );
    assert.equal(
      message(() => one('HEALTHCHECK CMD')),
      'Missing command after HEALTHCHECK CMD',
    );
  });

  it('ENV, LABEL, ARG, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, MAINTAINER', () => {
    const env = one('ENV a=1 b="two words"');
    assert.equal(env.kind, 'env');
    assert.deepEqual(env.env, [
      { key: 'a', value: '1', noDelim: false },
      { key: 'b', value: '"two words"', noDelim: false },
    ]);
    const legacy = one('ENV a b c');
    assert.equal(legacy.kind, 'env');
    assert.deepEqual(legacy.env, [{ key: 'a', value: 'b c', noDelim: true }]);
    const arg = one('ARG a b=2 c=');
    assert.equal(arg.kind, 'arg');
    assert.deepEqual(
      arg.args.map((x) => [x.key, x.value]),
      [
        ['a', undefined],
        ['b', '2'],
        ['c', ''],
      ],
    );
    assert.equal(
      message(() => one('ARG =x')),
      'ARG names can not be blank',
    );
    const expose = one('EXPOSE 8080 80/udp 443');
    assert.equal(expose.kind, 'expose');
    assert.deepEqual(expose.ports, ['443', '80/udp', '8080']);
    const vol = one('VOLUME ["/a", "/b"]');
    assert.equal(vol.kind, 'volume');
    assert.deepEqual(vol.volumes, ['/a', '/b']);
    assert.equal(
      message(() => one('VOLUME [""]')),
      'VOLUME specified can not be an empty string',
    );
    const user = one('USER app:app');
    assert.equal(user.kind, 'user');
    assert.equal(user.user, 'app:app');
    const wd = one('WORKDIR /srv/app');
    assert.equal(wd.kind, 'workdir');
    assert.equal(wd.path, '/srv/app');
    const sig = one('STOPSIGNAL SIGKILL');
    assert.equal(sig.kind, 'stopsignal');
    assert.equal(sig.signal, 'SIGKILL');
    const m = one('MAINTAINER me <me@example.com>');
    assert.equal(m.kind, 'maintainer');
    assert.equal(m.maintainer, 'me <me@example.com>');
  });

  it('ONBUILD keeps the trigger text', () => {
    const ob = one('ONBUILD RUN echo "hi"');
    assert.equal(ob.kind, 'onbuild');
    assert.equal(ob.expression, 'RUN echo "hi"');
    assert.equal(ob.triggerNode?.keyword, 'run');
    const hd = one('ONBUILD COPY <<EOF /x\nhello\nEOF');
    assert.equal(hd.kind, 'onbuild');
    assert.equal(hd.expression, 'COPY <<EOF /x\nhello\nEOF');
  });

  it('unknown instructions suggest the closest keyword', () => {
    assert.equal(
      message(() => one('RUNN echo')),
      'unknown instruction: RUNN (did you mean RUN?)',
    );
    assert.equal(
      message(() => one('cpy a b')),
      'unknown instruction: cpy (did you mean copy?)',
    );
    assert.equal(
      message(() => one('FOOBAR x')),
      'unknown instruction: FOOBAR',
    );
  });
});

describe('dispatch-time expansion (StageScope)', () => {
  it('expands what BuildKit expands and nothing else', () => {
    const s = scope(['HOME=/root', 'V=1.2', 'PORTS=80 443/udp']);
    const run = s.dispatch(cmd('RUN --mount=type=cache,target=$HOME/.cache,id=v$V echo $HOME'));
    assert.equal(run.instruction.kind, 'run');
    assert.deepEqual(run.instruction.cmdLine, ['echo $HOME']);
    assert.equal(run.instruction.mounts?.[0]?.target, '/root/.cache');
    assert.equal(run.instruction.mounts?.[0]?.id, 'v1.2');
    assert.deepEqual(run.instruction.usedArgs, ['HOME', 'V']);
    const copy = s.dispatch(cmd('COPY --chown=$V --chmod=$MODE --exclude=$V src-$V /opt/$V/'));
    assert.equal(copy.instruction.kind, 'copy');
    assert.deepEqual(
      [
        copy.instruction.chown,
        copy.instruction.chmod,
        copy.instruction.excludePatterns,
        copy.instruction.sourcePaths,
        copy.instruction.destPath,
      ],
      ['1.2', '', ['$V'], ['src-1.2'], '/opt/1.2/'],
    );
    assert.deepEqual(copy.unset, ['MODE']);
    const cmdIns = s.dispatch(cmd('CMD echo $V'));
    assert.equal(cmdIns.instruction.kind, 'cmd');
    assert.deepEqual(cmdIns.instruction.cmdLine, ['echo $V']);
    const wd = s.dispatch(cmd('WORKDIR /srv/${V}'));
    assert.equal(wd.instruction.kind, 'workdir');
    assert.equal(wd.instruction.path, '/srv/1.2');
    const expose = s.dispatch(cmd('EXPOSE $PORTS'));
    assert.equal(expose.instruction.kind, 'expose');
    assert.deepEqual(expose.instruction.exposedPorts, ['80/tcp', '443/udp']);
  });

  it('heredoc bodies expand raw, quoted delimiters not at all', () => {
    const s = scope(['NAME=world']);
    const a = s.dispatch(cmd('COPY <<EOF /x\n"hello" $NAME\nEOF'));
    assert.equal(a.instruction.kind, 'copy');
    assert.equal(a.instruction.sourceContents[0]?.data, '"hello" world\n');
    const b = s.dispatch(cmd("COPY <<'EOF' /x\nhello $NAME\nEOF"));
    assert.equal(b.instruction.kind, 'copy');
    assert.equal(b.instruction.sourceContents[0]?.data, 'hello $NAME\n');
  });

  it('--chmod is validated after expansion', () => {
    const s = scope(['M=0755', 'BAD=64a']);
    const ok = s.dispatch(cmd('COPY --chmod=$M a /b'));
    assert.equal(ok.instruction.kind, 'copy');
    assert.deepEqual(ok.instruction.chmodSpec, { kind: 'octal', mode: 0o755 });
    assert.equal(
      message(() => s.dispatch(cmd('COPY --chmod=$BAD a /b'))),
      "invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777",
    );
  });

  it('ENV uses the values from before the instruction', () => {
    const s = scope(['a=old', 'PATH=/bin']);
    const r = s.dispatch(cmd('ENV a=new b=$a'));
    assert.equal(r.instruction.kind, 'env');
    assert.deepEqual(
      r.instruction.env.map((e) => [e.key, e.value]),
      [
        ['a', 'new'],
        ['b', 'old'],
      ],
    );
    // The config keeps a redefined name in place; the run env moves it to the end.
    assert.deepEqual(s.configEnv(), ['a=new', 'PATH=/bin', 'b=old']);
    assert.deepEqual(s.runEnv(), ['PATH=/bin', 'a=new', 'b=old']);
  });

  it('a base without PATH gets the default PATH', () => {
    assert.deepEqual(scope([]).configEnv(), [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ]);
    assert.deepEqual(scope(['PATH=/x', 'A=1']).configEnv(), ['PATH=/x', 'A=1']);
  });

  it('ARG defaults expand against the env from before the instruction, as ENV does', () => {
    // Observed on dockerd 20.10: `ARG A=1 B=x$A C="q  $A"` gives B=x and C='q  ', and the
    // history shows every default expanded and unquoted, even one a --build-arg overrides:
    // `ARG GIVEN="de  fault" G2='$A'` with GIVEN=cli is recorded as `ARG GIVEN=de  fault G2=$A`.
    const s = scope(['PATH=/bin'], { GIVEN: 'cli' });
    const r = s.dispatch(cmd('ARG A=1 B=x$A C="q  $A"'));
    assert.equal(r.instruction.kind, 'arg');
    assert.deepEqual(
      r.instruction.args.map((a) => [a.key, a.value, a.expandedDefault]),
      [
        ['A', '1', '1'],
        ['B', 'x', 'x'],
        ['C', 'q  ', 'q  '],
      ],
    );
    const g = s.dispatch(cmd('ARG GIVEN="de  fault" G2=\'$A\' BARE'));
    assert.equal(g.instruction.kind, 'arg');
    assert.deepEqual(
      g.instruction.args.map((a) => [a.key, a.value, a.expandedDefault]),
      [
        ['GIVEN', 'cli', 'de  fault'],
        ['G2', '$A', '$A'],
        ['BARE', undefined, undefined],
      ],
    );
  });

  it('ARG: build-arg, default, global re-declaration, and ENV/ARG order', () => {
    const s = scope(['PATH=/bin'], { B: 'from-cli' }, { G: 'global', TARGETOS: 'linux' });
    s.dispatch(cmd('ARG A=x${PATH} B=default G TARGETOS UNSET'));
    assert.deepEqual(
      s.args().map((a) => [a.key, a.value]),
      [
        ['A', 'x/bin'],
        ['B', 'from-cli'],
        ['G', 'global'],
        ['TARGETOS', 'linux'],
        ['UNSET', undefined],
      ],
    );
    // ARG values reach expansion and RUN's env, never the image config.
    assert.equal(s.get('A'), 'x/bin');
    assert.deepEqual(s.configEnv(), ['PATH=/bin']);
    // A later ENV wins over the ARG.
    s.dispatch(cmd('ENV B=env'));
    const w = s.dispatch(cmd('WORKDIR /$B'));
    assert.equal(w.instruction.kind, 'workdir');
    assert.equal(w.instruction.path, '/env');
    assert.deepEqual(w.instruction.usedArgs, ['B']);
    // The child stage inherits the env, ARG values included, but not the ARG declarations:
    // on dockerd 20.10, `FROM parent` then `RUN` has no `|N k=v` prefix in its history, yet
    // the RUN sees the parent's ARG values.
    const child = s.fork();
    assert.equal(child.get('A'), 'x/bin');
    assert.deepEqual(child.args(), []);
    // A re-declared ARG is listed again (BuildKit appends it) and its value wins over the ENV.
    s.dispatch(cmd('ARG B=again'));
    assert.deepEqual(
      s.args().map((a) => [a.key, a.value]),
      [
        ['A', 'x/bin'],
        ['B', 'from-cli'],
        ['G', 'global'],
        ['TARGETOS', 'linux'],
        ['UNSET', undefined],
        ['B', 'from-cli'],
      ],
    );
    s.dispatch(cmd('ENV B=env2'));
    s.dispatch(cmd('ARG UNSET=late'));
    assert.equal(s.get('UNSET'), 'late');
    assert.deepEqual(s.configEnv(), ['PATH=/bin', 'B=env2']);
  });

  it('expansion errors carry the position', () => {
    const s = scope();
    try {
      s.dispatch(cmd('WORKDIR ${X:?must be set}'));
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(isSlipwayError(e));
      assert.equal(e.line, 1);
      assert.match(e.message, /must be set/);
    }
  });
});
