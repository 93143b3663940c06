// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variable syntax, not JS templates
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDockerfile } from '../../../src/dockerfile/parser.js';
import {
  addOnbuildTriggers,
  type BuildPlan,
  createStageScope,
  type PlanOptions,
  parseOnbuildTriggers,
  planBuild,
} from '../../../src/dockerfile/plan.js';
import { isSlipwayError } from '../../../src/errors.js';

const amd64 = { os: 'linux', architecture: 'amd64' };
const arm64 = { os: 'linux', architecture: 'arm64' };

function plan(source: string, opts: Partial<PlanOptions> = {}): BuildPlan {
  return planBuild(parseDockerfile(source, { file: 'Dockerfile' }), {
    buildArgs: {},
    platform: amd64,
    buildPlatform: amd64,
    file: 'Dockerfile',
    ...opts,
  });
}

function failure(fn: () => unknown): { code: string; message: string; line: number | undefined } {
  try {
    fn();
  } catch (e) {
    assert.ok(isSlipwayError(e), String(e));
    return { code: e.code, message: e.message, line: e.line };
  }
  assert.fail('expected an error');
}

describe('global ARGs and FROM', () => {
  it('meta ARGs expand in FROM; build args override defaults', () => {
    const src = 'ARG BASE=alpine\nARG TAG=3.${MINOR:-19}\nFROM ${BASE}:${TAG} AS app\n';
    const p = plan(src);
    assert.deepEqual(p.stages[0]?.base, { kind: 'image', ref: 'alpine:3.19' });
    assert.deepEqual(p.stages[0]?.usedArgs, ['BASE', 'TAG']);
    const q = plan(src, { buildArgs: { BASE: 'debian', TAG: 'bookworm' } });
    assert.deepEqual(q.stages[0]?.base, { kind: 'image', ref: 'debian:bookworm' });
    assert.equal(q.stages[0]?.from.baseName, 'debian:bookworm');
  });

  it('a meta ARG default is not evaluated when a build arg is given', () => {
    const src = 'ARG X=${REQ:?required}\nFROM scratch\n';
    assert.match(failure(() => plan(src)).message, /REQ: required/);
    assert.equal(plan(src, { buildArgs: { X: 'given' } }).globalArgs.get('X'), 'given');
  });

  it('blank base names and bad platforms fail', () => {
    assert.equal(failure(() => plan('ARG B\nFROM $B\n')).message, 'base name ($B) should not be blank');
    assert.equal(
      failure(() => plan('ARG P\nFROM --platform=$P scratch\n')).message,
      'empty platform value from expression $P',
    );
  });

  it('global ARGs reach a stage only after re-declaration', () => {
    const p = plan('ARG V=1\nFROM scratch\nARG V\nWORKDIR /$V\n');
    const stage = p.stages[0];
    assert.ok(stage);
    const scope = createStageScope(p, []);
    const w = stage.instructions.map((c) => scope.dispatch(c).instruction);
    assert.equal(w[1]?.kind === 'workdir' && w[1].path, '/1');
    const q = plan('ARG V=1\nFROM scratch\nWORKDIR /$V\n');
    const scope2 = createStageScope(q, []);
    const r = scope2.dispatch(q.stages[0]?.instructions[0] as never);
    assert.equal(r.instruction.kind === 'workdir' && r.instruction.path, '/');
    assert.deepEqual(r.unset, ['V']);
  });
});

describe('platform ARGs', () => {
  it('are global, usable in FROM and re-declarable in a stage', () => {
    const src =
      'FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETOS TARGETARCH BUILDARCH\nRUN echo\nFROM scratch\nCOPY --from=build /out /\n';
    const p = plan(src, { platform: arm64, buildPlatform: amd64 });
    assert.equal(p.globalArgs.get('TARGETPLATFORM'), 'linux/arm64');
    assert.equal(p.globalArgs.get('BUILDPLATFORM'), 'linux/amd64');
    assert.equal(p.globalArgs.get('TARGETARCH'), 'arm64');
    assert.equal(p.globalArgs.get('TARGETVARIANT'), '');
    assert.deepEqual(p.stages[0]?.platform, amd64);
    assert.equal(p.stages[0]?.platformExplicit, true);
    assert.deepEqual(p.stages[1]?.platform, arm64);
    const scope = createStageScope(p, []);
    const arg = scope.dispatch(p.stages[0]?.instructions[0] as never).instruction;
    assert.equal(arg.kind, 'arg');
    assert.deepEqual(arg.kind === 'arg' && arg.args.map((a) => [a.key, a.value]), [
      ['TARGETOS', 'linux'],
      ['TARGETARCH', 'arm64'],
      ['BUILDARCH', 'amd64'],
    ]);
  });

  it('TARGETSTAGE names the target', () => {
    assert.equal(plan('FROM scratch AS a\nFROM scratch AS b\n').globalArgs.get('TARGETSTAGE'), 'b');
    assert.equal(
      plan('FROM scratch AS a\nFROM scratch AS b\n', { target: 'A' }).globalArgs.get('TARGETSTAGE'),
      'a',
    );
    assert.equal(plan('FROM scratch\n').globalArgs.get('TARGETSTAGE'), 'default');
  });

  it('a stage based on another stage takes its platform', () => {
    const p = plan('FROM --platform=linux/arm64 alpine AS a\nFROM --platform=linux/amd64 a\n', {
      platform: amd64,
    });
    assert.deepEqual(p.stages[1]?.platform, arm64);
  });
});

describe('stage graph and target pruning', () => {
  const src = [
    'FROM alpine AS Base',
    'RUN echo base',
    'FROM busybox AS tools',
    'FROM base AS build',
    'RUN --mount=type=bind,from=tools,target=/t make',
    'FROM scratch AS unused',
    'COPY --from=build /x /x',
    'FROM debian AS final',
    'COPY --from=BUILD /out /out',
    'COPY --from=0 /etc/os-release /',
    'COPY --from=nginx:latest /etc/nginx /etc/nginx',
    '',
  ].join('\n');

  it('names are lower-cased and resolved case-insensitively for --from', () => {
    const p = plan(src);
    assert.deepEqual(
      p.stages.map((s) => s.name),
      ['base', 'tools', 'build', 'unused', 'final'],
    );
    assert.deepEqual(p.stages[2]?.base, { kind: 'stage', index: 0 });
    assert.deepEqual(p.stages[2]?.dependsOn, [0, 1]);
    assert.deepEqual(p.stages[4]?.dependsOn, [0, 2]);
    assert.deepEqual(
      p.stages[4]?.dependencies.map((d) => d.source),
      [
        { kind: 'stage', index: 2 },
        { kind: 'stage', index: 0 },
        { kind: 'image', ref: 'nginx:latest' },
      ],
    );
  });

  it('prunes stages the target does not reach', () => {
    const p = plan(src);
    assert.equal(p.target, 4);
    assert.deepEqual(p.order, [0, 1, 2, 4]);
    assert.equal(p.stages[3]?.reachable, false);
    assert.deepEqual(plan(src, { target: 'base' }).order, [0]);
  });

  it('--target picks a stage by name, any case', () => {
    const p = plan(src, { target: 'UNUSED' });
    assert.equal(p.target, 3);
    assert.deepEqual(p.order, [0, 1, 2, 3]);
  });

  it('RUN --mount from= is a dependency (a later stage is an error)', () => {
    const late = 'FROM alpine AS build\nRUN --mount=from=tools,target=/t true\nFROM alpine AS tools\n';
    const e = failure(() => plan(late, { target: 'build' }));
    assert.equal(
      e.message,
      'cannot mount from stage "tools", it needs to be defined before current stage "build"',
    );
    const ok = plan('FROM alpine AS tools\nFROM alpine AS build\nRUN --mount=from=tools,target=/t true\n');
    assert.deepEqual(ok.stages[1]?.dependsOn, [0]);
    assert.deepEqual(ok.order, [0, 1]);
  });

  it('unknown target', () => {
    const e = failure(() => plan(src, { target: 'fnal' }));
    assert.equal(e.code, 'PLAN');
    assert.equal(e.message, 'target stage "fnal" could not be found (did you mean final?)');
    assert.equal(
      failure(() => plan(src, { target: 'nope' })).message,
      'target stage "nope" could not be found',
    );
  });

  it('COPY --from errors', () => {
    assert.equal(failure(() => plan('FROM scratch\nCOPY --from=3 /a /b\n')).message, 'invalid stage index 3');
    assert.equal(
      failure(() => plan('ARG S=x\nFROM scratch\nCOPY --from=$S /a /b\n')).message,
      'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
    );
    assert.equal(
      failure(() => plan('FROM scratch AS a\nCOPY --from=b /a /b\nFROM scratch AS b\n', { target: 'a' }))
        .message,
      'cannot copy from stage "b", it needs to be defined before current stage "a"',
    );
    assert.equal(
      failure(() => plan('FROM scratch AS a\nCOPY --from=b /x /x\nFROM scratch AS b\nCOPY --from=a /y /y\n'))
        .message,
      'circular dependency detected on stage: a',
    );
  });

  it('FROM matches earlier stages only, exactly', () => {
    const p = plan('FROM app\nFROM scratch AS app\nFROM app\n');
    assert.deepEqual(p.stages[0]?.base, { kind: 'image', ref: 'app' });
    assert.deepEqual(p.stages[2]?.base, { kind: 'stage', index: 1 });
    assert.deepEqual(p.stages[1]?.base, { kind: 'scratch' });
    assert.deepEqual(
      p.stages.map((s) => s.displayName),
      ['stage-0', 'app', 'stage-2'],
    );
  });

  it('a single-stage build has no stage label', () => {
    assert.equal(plan('FROM scratch\n').stages[0]?.displayName, '');
  });

  it('no stages', () => {
    assert.equal(failure(() => plan('ARG A=1\n')).message, 'dockerfile contains no stages to build');
    assert.equal(failure(() => plan('RUN true\n')).message, 'no build stage in current context');
  });
});

describe('build args', () => {
  it('warns about build args nothing consumed', () => {
    const p = plan('ARG USED\nFROM scratch\nARG STAGE\nFROM scratch AS other\nARG PRUNED\nFROM scratch\n', {
      buildArgs: {
        USED: '1',
        STAGE: '1',
        PRUNED: '1',
        ZED: '1',
        EXTRA: '1',
        HTTP_PROXY: 'x',
        TARGETARCH: 'amd64',
      },
      target: undefined,
    });
    assert.deepEqual(
      p.warnings.map((w) => w.message),
      ['One or more build-args [EXTRA PRUNED STAGE ZED] were not consumed'],
    );
    assert.deepEqual(plan('FROM scratch\n').warnings, []);
  });

  it('proxy args are usable without ARG and kept apart', () => {
    const p = plan('FROM scratch\nRUN true\n', {
      buildArgs: { HTTP_PROXY: 'http://p:3128', no_proxy: 'localhost', ftp_proxy: '', OTHER: 'x' },
    });
    // Each under both names, as dockerd 20.10's RUN env showed (`env | sort` with
    // --build-arg ftp_proxy=f gave FTP_PROXY=f and ftp_proxy=f); an empty one sets neither.
    assert.deepEqual(p.proxyEnv, {
      HTTP_PROXY: 'http://p:3128',
      http_proxy: 'http://p:3128',
      NO_PROXY: 'localhost',
      no_proxy: 'localhost',
    });
    // Not in the expansion env unless declared.
    const scope = createStageScope(p, []);
    assert.equal(scope.get('HTTP_PROXY'), undefined);
    assert.deepEqual(
      p.warnings.map((w) => w.message),
      ['One or more build-args [OTHER] were not consumed'],
    );
  });
});

describe('syntax directive', () => {
  it('accepts the built-in frontend spellings', () => {
    for (const s of [
      'docker/dockerfile:1',
      'docker/dockerfile:1.7',
      'docker.io/docker/dockerfile:1.4.3',
      `docker/dockerfile:1@sha256:${'a'.repeat(64)}`,
    ]) {
      assert.equal(plan(`# syntax=${s}\nFROM scratch\n`).syntax, s);
    }
  });
  it('refuses other frontends', () => {
    const e = failure(() => plan('# syntax=example.com/frontend:2\nFROM scratch\n'));
    assert.equal(e.code, 'UNSUPPORTED');
    assert.equal(
      e.message,
      'unsupported frontend "example.com/frontend:2": slipway only has the built-in docker/dockerfile:1 frontend',
    );
    assert.equal(
      failure(() => plan('FROM scratch\n', { buildArgs: { BUILDKIT_SYNTAX: 'x/y' } })).code,
      'UNSUPPORTED',
    );
  });
});

describe('ONBUILD', () => {
  it("a child stage runs its parent stage's triggers first, and their --from deps count", () => {
    const p = plan(
      'FROM alpine AS assets\nFROM alpine AS base\nONBUILD COPY --from=assets /a /a\nONBUILD RUN echo hi\nFROM base\nRUN echo child\n',
    );
    const child = p.stages[2];
    assert.ok(child);
    assert.deepEqual(
      child.instructions.map((c) => [c.kind, c.onbuild === true]),
      [
        ['copy', true],
        ['run', true],
        ['run', false],
      ],
    );
    assert.equal(child.instructions[0]?.range.start.line, 5);
    assert.deepEqual(child.dependsOn, [0, 1]);
    assert.deepEqual(p.order, [0, 1, 2]);
  });

  it('base image triggers are parsed and wired into the graph', () => {
    const p = plan('FROM alpine AS assets\nFROM scratch AS unused\nFROM someimage\n');
    assert.deepEqual(p.order, [2]);
    const stage = p.stages[2];
    assert.ok(stage);
    const triggers = parseOnbuildTriggers(['COPY --from=assets /a /a', 'RUN make'], {
      file: 'Dockerfile',
      range: stage.from.range,
    });
    assert.deepEqual(
      triggers.map((t) => t.kind),
      ['copy', 'run'],
    );
    assert.deepEqual(addOnbuildTriggers(p, 2, triggers), [0]);
    assert.deepEqual(p.order, [0, 2]);
    assert.throws(() => parseOnbuildTriggers(['FROM x'], { range: stage.from.range }));
  });
});
