/**
 * The build plan: BuildKit's dockerfile2llb front half (toDispatchState) without LLB.
 * Stages and their names, global ARGs (automatic platform ARGs, meta ARGs, --build-arg),
 * FROM expansion, the target, the stage graph (FROM stage, COPY --from, RUN --mount from=,
 * ONBUILD triggers inherited from a parent stage) and what is reachable from the target.
 * Instruction words are expanded later, at dispatch, by a StageScope the engine seeds
 * with the base image's Env (see createStageScope).
 */

import { SlipwayError } from '../errors.js';
import type { DockerfileAST, Range } from './ast.js';
import { instructionError, parseCommand, parseStages } from './instructions/parse.js';
import { formatPlatform, hostPlatform, type PlatformSpec, parsePlatform } from './instructions/platform.js';
import { StageScope } from './instructions/scope.js';
import { withSuggestion } from './instructions/suggest.js';
import type { ArgCmd, Command, CopyCmd, FromCmd, RunCmd } from './instructions/types.js';
import { parseDockerfile } from './parser.js';
import { type EscapeToken, ShellLex } from './shell/lex.js';
import type { ExpansionEnv } from './shell/types.js';

export type { PlatformSpec } from './instructions/platform.js';

export interface PlanOptions {
  /** `--build-arg` values. */
  buildArgs: Record<string, string>;
  /** `--target`; default: the last stage. */
  target?: string;
  /** The target platform (TARGETPLATFORM). */
  platform: PlatformSpec;
  /** The platform the build runs on (BUILDPLATFORM); default: this host. */
  buildPlatform?: PlatformSpec;
  /** Dockerfile name for error positions. */
  file?: string;
}

export type StageBase =
  | { kind: 'scratch' }
  | { kind: 'stage'; index: number }
  | { kind: 'image'; ref: string };

/** Where a COPY --from or RUN --mount from= reads: another stage, or an image. */
export type StageSource = { kind: 'stage'; index: number } | { kind: 'image'; ref: string };

export interface StageDependency {
  source: StageSource;
  via: 'copy' | 'mount';
  /** Index into the stage's `instructions`. */
  instruction: number;
}

export interface PlannedStage {
  index: number;
  /** Lower-cased `AS` name, '' when unnamed. */
  name: string;
  /** BuildKit's stage label: the name, `stage-N`, or '' when the build has one stage. */
  displayName: string;
  /** Doc comment above FROM (`# name does X`). */
  comment: string;
  from: FromCmd;
  /** The base: FROM's name expanded with global ARGs, resolved to a stage when it names one. */
  base: StageBase;
  /** FROM --platform (expanded), the parent stage's, or the target platform. */
  platform: PlatformSpec;
  /** True when FROM --platform chose the platform. */
  platformExplicit: boolean;
  /** Commands in dispatch order: inherited ONBUILD triggers (onbuild: true) first. */
  instructions: Command[];
  dependencies: StageDependency[];
  /** Stage indexes this stage needs built first (base, COPY --from, mount from=). */
  dependsOn: number[];
  /** Global ARG names FROM's name and --platform referenced. */
  usedArgs: string[];
  /** Built for this target (the target, its bases, and what they read from). */
  reachable: boolean;
}

export interface PlanWarning {
  message: string;
  file?: string;
  line?: number;
  column?: number;
}

export interface BuildPlan {
  file: string | undefined;
  escapeToken: EscapeToken;
  /** The `# syntax=` directive or BUILDKIT_SYNTAX, when given (always a built-in spelling). */
  syntax: string | undefined;
  /** ARGs before the first FROM, with resolved values. */
  metaArgs: ArgCmd[];
  /** The global scope: automatic platform ARGs and meta ARGs (FROM sees only these). */
  globalArgs: ReadonlyMap<string, string>;
  buildArgs: Readonly<Record<string, string>>;
  /** Proxy build args (any case); RUN gets them without an ARG, history and cache keys do not. */
  proxyEnv: Readonly<Record<string, string>>;
  buildPlatform: PlatformSpec;
  targetPlatform: PlatformSpec;
  stages: PlannedStage[];
  /** Index of the target stage. */
  target: number;
  /** Reachable stages in dispatch (file) order. */
  order: number[];
  warnings: PlanWarning[];
}

/** Proxy names usable without ARG (the legacy builder's builtinAllowedBuildArgs). */
export const PROXY_ARGS = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
] as const;

const PLATFORM_ARGS = [
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDOSVERSION',
  'BUILDARCH',
  'BUILDVARIANT',
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETOSVERSION',
  'TARGETARCH',
  'TARGETVARIANT',
  'TARGETSTAGE',
] as const;

const BUILTIN_SYNTAX =
  /^(?:docker\.io\/)?docker\/dockerfile(?::1(?:\.\d+){0,2}(?:-labs)?)?(?:@sha256:[0-9a-f]{64})?$/;

function checkSyntax(ast: DockerfileAST, buildArgs: Readonly<Record<string, string>>): string | undefined {
  const directive = ast.directives.find((d) => d.name.toLowerCase() === 'syntax')?.value;
  // BUILDKIT_SYNTAX wins over the directive, as in BuildKit's dockerfile builder.
  const syntax = buildArgs.BUILDKIT_SYNTAX ?? directive;
  if (syntax === undefined || syntax === '') return undefined;
  if (!BUILTIN_SYNTAX.test(syntax.trim())) {
    throw new SlipwayError(
      'UNSUPPORTED',
      `unsupported frontend "${syntax}": slipway only has the built-in docker/dockerfile:1 frontend`,
    );
  }
  return syntax.trim();
}

function mapEnvOf(map: ReadonlyMap<string, string>): ExpansionEnv {
  return { get: (name) => map.get(name) };
}

function planError(message: string, range: Range | undefined, file: string | undefined): SlipwayError {
  return new SlipwayError('PLAN', message, {
    file,
    line: range?.start.line,
    column: range?.start.column,
  });
}

/** With a lexer failure's text kept and the FROM position attached. */
function atFrom(e: unknown, from: FromCmd, file: string | undefined, prefix = ''): never {
  if (e instanceof SlipwayError) {
    throw new SlipwayError(e.code, `${prefix}${e.message}`, {
      file,
      line: from.range.start.line,
      column: from.range.start.column,
      cause: e,
    });
  }
  throw planError(`${prefix}${(e as Error).message}`, from.range, file);
}

/** Go's strconv.Atoi for the stage-index form of --from. */
function atoi(s: string): number | undefined {
  return /^[+-]?[0-9]+$/.test(s) ? Number(s) : undefined;
}

function hasVariable(value: string): boolean {
  const i = value.indexOf('$');
  return i !== -1 && i !== value.length - 1;
}

interface Graph {
  byName: Map<string, number>;
  count: number;
}

function resolveSource(ref: string, graph: Graph): StageSource {
  const index = graph.byName.get(ref.toLowerCase());
  return index === undefined ? { kind: 'image', ref } : { kind: 'stage', index };
}

/** BuildKit's toCommand: the stages/images one instruction reads from. */
function commandSources(cmd: Command, graph: Graph, file: string | undefined): StageSource[] {
  if (cmd.kind === 'copy' && cmd.from !== '') {
    if (hasVariable(cmd.from)) {
      throw instructionError(
        'variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround',
        cmd,
        file,
      );
    }
    const index = atoi(cmd.from);
    if (index === undefined) return [resolveSource(cmd.from, graph)];
    if (index < 0 || index >= graph.count) throw instructionError(`invalid stage index ${index}`, cmd, file);
    return [{ kind: 'stage', index }];
  }
  if (cmd.kind === 'run') return cmd.mountFroms.filter((f) => f !== '').map((f) => resolveSource(f, graph));
  return [];
}

function dependenciesOf(
  instructions: readonly Command[],
  graph: Graph,
  file: string | undefined,
): StageDependency[] {
  const deps: StageDependency[] = [];
  instructions.forEach((cmd, i) => {
    for (const source of commandSources(cmd, graph, file)) {
      deps.push({ source, via: cmd.kind === 'copy' ? 'copy' : 'mount', instruction: i });
    }
  });
  return deps;
}

function stageDependsOn(stage: Pick<PlannedStage, 'base' | 'dependencies'>): number[] {
  const set = new Set<number>();
  if (stage.base.kind === 'stage') set.add(stage.base.index);
  for (const d of stage.dependencies) if (d.source.kind === 'stage') set.add(d.source.index);
  return [...set].sort((a, b) => a - b);
}

function markReachable(stages: PlannedStage[], target: number): void {
  for (const s of stages) s.reachable = false;
  const visit = (i: number) => {
    const s = stages[i];
    if (!s || s.reachable) return;
    s.reachable = true;
    for (const d of s.dependsOn) visit(d);
  };
  visit(target);
}

/** BuildKit's validateCircularDependency over COPY --from / mount edges. */
function checkCycles(stages: readonly PlannedStage[], file: string | undefined): void {
  const visited = new Set<number>();
  const path = new Set<number>();
  const visit = (i: number, trail: Command[]): Command[] | undefined => {
    if (visited.has(i)) return undefined;
    visited.add(i);
    path.add(i);
    const stage = stages[i] as PlannedStage;
    for (const dep of stage.dependencies) {
      if (dep.source.kind !== 'stage') continue;
      const next = [...trail, stage.instructions[dep.instruction] as Command];
      if (path.has(dep.source.index)) return next;
      const found = visit(dep.source.index, next);
      if (found) return found;
    }
    path.delete(i);
    return undefined;
  };
  for (const stage of stages) {
    const cycle = visit(stage.index, []);
    if (cycle) {
      const label = stage.name === '' ? `stage-${stage.index}` : stage.name;
      throw planError(`circular dependency detected on stage: ${label}`, cycle[0]?.range, file);
    }
  }
}

function triggerCommands(parent: PlannedStage, child: PlannedStage, file: string | undefined): Command[] {
  const out: Command[] = [];
  for (const cmd of parent.instructions) {
    if (cmd.kind !== 'onbuild' || cmd.onbuild) continue;
    if (!cmd.triggerNode)
      throw planError('onbuild trigger should be a single expression', child.from.range, file);
    const node = { ...cmd.triggerNode, range: child.from.range };
    const parsed = parseCommand(node, { file });
    const firstLine = cmd.expression.split('\n')[0] ?? '';
    out.push({ ...parsed, original: firstLine.trim(), onbuild: true });
  }
  return out;
}

/**
 * The classic builder's warning for --build-args no ARG declares (BuildKit 20.10 says nothing),
 * without its `[Warning]` tag: the progress output already prefixes every warning.
 */
function unusedBuildArgWarning(
  buildArgs: Readonly<Record<string, string>>,
  metaArgs: readonly ArgCmd[],
  stages: readonly PlannedStage[],
): PlanWarning | undefined {
  const consumed = new Set<string>([...PROXY_ARGS, ...PLATFORM_ARGS, 'SOURCE_DATE_EPOCH']);
  for (const m of metaArgs) for (const a of m.args) consumed.add(a.key);
  for (const s of stages) {
    if (!s.reachable) continue;
    for (const cmd of s.instructions) if (cmd.kind === 'arg') for (const a of cmd.args) consumed.add(a.key);
  }
  const left = Object.keys(buildArgs)
    .filter((k) => !consumed.has(k) && !k.startsWith('BUILDKIT_'))
    .sort();
  if (left.length === 0) return undefined;
  return { message: `One or more build-args [${left.join(' ')}] were not consumed` };
}

/**
 * The env BuildKit's llb.WithProxy adds to every RUN: each proxy build arg, in whichever case it
 * was given, under both its upper- and lower-case name (dockerd 20.10 runs `--build-arg
 * ftp_proxy=f` with FTP_PROXY=f and ftp_proxy=f); an empty value sets neither. ALL_PROXY is newer
 * than 20.10 but handled the same way, as the Dockerfile reference lists it with the others.
 */
function proxyEnvFrom(buildArgs: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY']) {
    let value = '';
    for (const [k, v] of Object.entries(buildArgs)) if (k.toUpperCase() === name) value = v;
    if (value === '') continue;
    out[name] = value;
    out[name.toLowerCase()] = value;
  }
  return out;
}

function defaultArgs(
  build: PlatformSpec,
  target: PlatformSpec,
  targetStage: string,
  overrides: Readonly<Record<string, string>>,
): Map<string, string> {
  const pairs: [string, string][] = [
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDOSVERSION', ''],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETOSVERSION', ''],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['TARGETSTAGE', targetStage],
  ];
  const env = new Map<string, string>();
  for (const [k, v] of pairs) env.set(k, Object.hasOwn(overrides, k) ? (overrides[k] as string) : v);
  return env;
}

/** Turns a parsed Dockerfile into a build plan for one target and platform. */
export function planBuild(ast: DockerfileAST, opts: PlanOptions): BuildPlan {
  const file = opts.file;
  const buildArgs = { ...opts.buildArgs };
  const syntax = checkSyntax(ast, buildArgs);
  const escapeToken: EscapeToken = ast.escapeToken === '`' ? '`' : '\\';
  const lex = new ShellLex(escapeToken);
  const parsed = parseStages(ast, { file });
  if (parsed.stages.length === 0) throw planError('dockerfile contains no stages to build', undefined, file);

  const targetPlatform = opts.platform;
  const buildPlatform = opts.buildPlatform ?? hostPlatform();
  const lastName = parsed.stages[parsed.stages.length - 1]?.from.stageName ?? '';
  const targetStage =
    (opts.target ?? '') !== '' ? (opts.target as string).toLowerCase() : lastName || 'default';
  const globalArgs = defaultArgs(buildPlatform, targetPlatform, targetStage, buildArgs);

  // Meta ARGs: a --build-arg wins and its default is never evaluated.
  const metaArgs: ArgCmd[] = parsed.metaArgs.map((cmd) => {
    const args = cmd.args.map((kp) => {
      let value = kp.value;
      if (Object.hasOwn(buildArgs, kp.key)) value = buildArgs[kp.key];
      else if (value !== undefined) {
        try {
          value = lex.processWord(value, mapEnvOf(globalArgs)).value;
        } catch (e) {
          if (e instanceof SlipwayError) {
            throw new SlipwayError(e.code, e.message, {
              file,
              line: cmd.range.start.line,
              column: cmd.range.start.column,
              cause: e,
            });
          }
          throw e;
        }
      }
      if (value !== undefined) globalArgs.set(kp.key, value);
      return { ...kp, value };
    });
    return { ...cmd, args };
  });

  const stages: PlannedStage[] = [];
  const byName = new Map<string, number>();
  parsed.stages.forEach(({ from, commands }, index) => {
    const env = mapEnvOf(globalArgs);
    let baseName: string;
    const usedArgs: string[] = [];
    try {
      const r = lex.processWord(from.baseName, env);
      baseName = r.value;
      usedArgs.push(...r.used);
    } catch (e) {
      atFrom(e, from, file);
    }
    if (baseName === '')
      throw planError(`base name (${from.baseName}) should not be blank`, from.range, file);

    let base: StageBase;
    const parent = byName.get(baseName);
    if (parent !== undefined) base = { kind: 'stage', index: parent };
    else if (baseName === 'scratch') base = { kind: 'scratch' };
    else base = { kind: 'image', ref: baseName };

    let platform = targetPlatform;
    let platformExplicit = false;
    if (from.platform !== '') {
      let value: string;
      try {
        const r = lex.processWord(from.platform, env);
        value = r.value;
        for (const u of r.used) if (!usedArgs.includes(u)) usedArgs.push(u);
      } catch (e) {
        atFrom(e, from, file, 'failed to process arguments for platform: ');
      }
      if (value === '')
        throw planError(`empty platform value from expression ${from.platform}`, from.range, file);
      try {
        platform = parsePlatform(value, buildPlatform);
      } catch (e) {
        throw planError(
          `failed to parse platform ${from.platform}: ${(e as Error).message}`,
          from.range,
          file,
        );
      }
      platformExplicit = true;
    }
    // A stage based on another stage runs on that stage's platform; scratch on the target's.
    if (base.kind === 'stage') {
      const p = stages[base.index] as PlannedStage;
      platform = p.platform;
      platformExplicit = p.platformExplicit;
    } else if (base.kind === 'scratch') {
      platform = targetPlatform;
      platformExplicit = false;
    }

    stages.push({
      index,
      name: from.stageName,
      displayName: from.stageName === '' ? `stage-${index}` : from.stageName,
      comment: from.comment,
      from: { ...from, baseName },
      base,
      platform,
      platformExplicit,
      instructions: commands,
      dependencies: [],
      dependsOn: [],
      usedArgs,
      reachable: false,
    });
    if (from.stageName !== '') byName.set(from.stageName, index);
  });

  let target: number;
  if ((opts.target ?? '') === '') {
    target = stages.length - 1;
  } else {
    const found = byName.get((opts.target as string).toLowerCase());
    if (found === undefined) {
      const names = stages.map((s) => s.name).filter((n) => n !== '');
      throw planError(
        withSuggestion(
          `target stage "${opts.target}" could not be found`,
          opts.target as string,
          names,
          false,
        ),
        undefined,
        file,
      );
    }
    target = found;
  }

  const graph: Graph = { byName, count: stages.length };
  for (const s of stages) {
    s.dependencies = dependenciesOf(s.instructions, graph, file);
    s.dependsOn = stageDependsOn(s);
  }
  checkCycles(stages, file);

  // Triggers a child inherits from its parent stage may read other stages: re-resolve.
  const triggersDone = new Set<number>();
  for (;;) {
    markReachable(stages, target);
    let changed = false;
    for (const s of stages) {
      if (!s.reachable || triggersDone.has(s.index) || s.base.kind !== 'stage') continue;
      triggersDone.add(s.index);
      const triggers = triggerCommands(stages[s.base.index] as PlannedStage, s, file);
      if (triggers.length === 0) continue;
      s.instructions = [...triggers, ...s.instructions];
      s.dependencies = dependenciesOf(s.instructions, graph, file);
      const before = s.dependsOn.length;
      s.dependsOn = stageDependsOn(s);
      if (s.dependsOn.length !== before) changed = true;
    }
    if (!changed) break;
  }

  const imageSources = stages.reduce(
    (n, s) => n + s.dependencies.filter((d) => d.source.kind === 'image').length,
    0,
  );
  if (stages.length + imageSources === 1) for (const s of stages) s.displayName = '';

  const plan: BuildPlan = {
    file,
    escapeToken,
    syntax,
    metaArgs,
    globalArgs,
    buildArgs,
    proxyEnv: proxyEnvFrom(buildArgs),
    buildPlatform,
    targetPlatform,
    stages,
    target,
    order: stages.filter((s) => s.reachable).map((s) => s.index),
    warnings: [],
  };
  checkCopyOrder(plan);
  const unused = unusedBuildArgWarning(buildArgs, metaArgs, stages);
  if (unused) plan.warnings.push(unused);
  return plan;
}

/** A reachable stage may only read stages defined before it (BuildKit fails at dispatch). */
function checkCopyOrder(plan: BuildPlan): void {
  for (const index of plan.order) {
    const s = plan.stages[index] as PlannedStage;
    for (const dep of s.dependencies) {
      if (dep.source.kind !== 'stage' || dep.source.index < s.index) continue;
      const cmd = s.instructions[dep.instruction] as CopyCmd | RunCmd;
      const ref = cmd.kind === 'copy' ? cmd.from : (cmd.mountFroms.find((f) => f !== '') ?? '');
      const verb = cmd.kind === 'copy' ? 'copy' : 'mount';
      throw instructionError(
        `cannot ${verb} from stage "${ref}", it needs to be defined before current stage "${s.displayName}"`,
        cmd,
        plan.file,
      );
    }
  }
}

/** The scope a stage's instructions expand in, seeded with its base image's `Env`. */
export function createStageScope(plan: BuildPlan, baseImageEnv: readonly string[]): StageScope {
  return StageScope.fromImageEnv(baseImageEnv, {
    escapeToken: plan.escapeToken,
    globalArgs: plan.globalArgs,
    buildArgs: plan.buildArgs,
    file: plan.file,
  });
}

/**
 * Adds a base image's ONBUILD triggers (already parsed with parseOnbuildTriggers) to the
 * front of a stage, wiring their COPY --from / mount dependencies into the graph and
 * re-computing reachability. Returns the stage indexes that became reachable.
 */
export function addOnbuildTriggers(
  plan: BuildPlan,
  stageIndex: number,
  triggers: readonly Command[],
): number[] {
  const stage = plan.stages[stageIndex];
  if (!stage) throw new RangeError(`no stage ${stageIndex}`);
  const byName = new Map<string, number>();
  for (const s of plan.stages) if (s.name !== '') byName.set(s.name, s.index);
  const graph: Graph = { byName, count: plan.stages.length };
  const was = new Set(plan.order);
  stage.instructions = [...triggers.map((t) => ({ ...t, onbuild: true })), ...stage.instructions];
  stage.dependencies = dependenciesOf(stage.instructions, graph, plan.file);
  stage.dependsOn = stageDependsOn(stage);
  checkCycles(plan.stages, plan.file);
  markReachable(plan.stages, plan.target);
  plan.order = plan.stages.filter((s) => s.reachable).map((s) => s.index);
  checkCopyOrder(plan);
  return plan.order.filter((i) => !was.has(i));
}

export interface OnbuildTriggerOptions {
  file?: string;
  /** Where errors and progress point: the FROM of the stage running the triggers. */
  range: Range;
}

/**
 * Parses a base image's ONBUILD triggers (its config `OnBuild` strings), each as a one-line
 * Dockerfile, as BuildKit's initOnBuildTriggers (a FROM trigger is not a command).
 */
export function parseOnbuildTriggers(triggers: readonly string[], opts: OnbuildTriggerOptions): Command[] {
  return triggers.map((trigger) => {
    const ast = parseDockerfile(trigger, { file: opts.file });
    const node = ast.instructions[0];
    if (!node || ast.instructions.length !== 1) {
      throw planError('onbuild trigger should be a single expression', opts.range, opts.file);
    }
    const cmd = parseCommand({ ...node, range: opts.range }, { file: opts.file });
    return { ...cmd, onbuild: true };
  });
}
