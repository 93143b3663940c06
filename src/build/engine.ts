import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type ContextEntry,
  ContextHasher,
  digestSelection,
  IgnoreMatcher,
  readIgnoreFile,
  walkContext,
} from '../context/index.js';
import { compilePattern } from '../context/pattern.js';
import {
  cleanSourcePath,
  type LinkLookup,
  regularFileInside,
  resolveSourcePath,
} from '../context/source-path.js';
import { hostPlatform } from '../dockerfile/instructions/platform.js';
import { DEFAULT_PATH, type StageScope } from '../dockerfile/instructions/scope.js';
import type { AddCmd, Command, CopyCmd, RunCmd } from '../dockerfile/instructions/types.js';
import { parseDockerfile } from '../dockerfile/parser.js';
import {
  addOnbuildTriggers,
  type BuildPlan,
  createStageScope,
  type PlannedStage,
  parseOnbuildTriggers,
  planBuild,
} from '../dockerfile/plan.js';
import { SlipwayError } from '../errors.js';
import { normalizeReference } from '../image/reference.js';
import type { ContainerConfig, HistoryEntry, ImageConfig } from '../image/types.js';
import type { Compression } from '../layer/types.js';
import type { ProgressReporter, Vertex } from '../progress/events.js';
import type { OciRuntime } from '../runtime/runc.js';
import { tempName } from '../store/fsutil.js';
import { Store } from '../store/store.js';
import { buildCacheRoots, CacheIndex, type LayerRef, type StepRecord } from './cache-index.js';
import type { CacheSpec } from './cache-transfer.js';
import { type CacheKeyParts, cacheKey } from './cachekey.js';
import { applyConfig, resolveWorkdir, type StageFlags, withShell } from './config-apply.js';
import type { ImageView, KnownTree, SourceTree } from './copy.js';
import type { CopyTarget } from './copy-target.js';
import type { ExtraHost, OutputSpec, SecretSource } from './flags.js';
import { hasWildcard } from './glob.js';
import { HISTORY_COMMENT, runCreatedBy } from './history.js';
import { imageLayers } from './image-layers.js';
import { RunFailed } from './run-failed.js';

export interface BuildOptions {
  root: string;
  contextDir: string;
  /** Dockerfile path; default `<context>/Dockerfile`. `-` is not supported here: pass `dockerfileText`. */
  dockerfile?: string;
  dockerfileText?: string;
  /** The context's digest cache file; default: one under the root per context directory. */
  contextDigestCache?: string;
  tags?: string[];
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  labels?: Record<string, string>;
  sourceDateEpoch?: number;
  runtime?: string;
  /** `--cache-from`: caches imported before the build (failures only warn, as BuildKit's). */
  cacheFrom?: CacheSpec[];
  /** `--cache-to`: every step record the build used is exported after it succeeds. */
  cacheTo?: CacheSpec[];
  /** Pull base images even when the store has them (`build --pull`). */
  pull?: boolean;
  /** Where the result goes; default: the local image store. */
  output?: OutputSpec;
  /** `--secret` sources by id; their contents never reach a cache key, layer, history or log. */
  secrets?: SecretSource[];
  /** `--network`: what a RUN without its own `--network` gets (BuildKit's default is `default`). */
  network?: 'default' | 'none' | 'host';
  /** `--add-host`: lines added to every RUN's /etc/hosts, after BuildKit's own two. */
  extraHosts?: ExtraHost[];
  progress: ProgressReporter;
  signal?: AbortSignal;
}

export interface BuildResult {
  imageId: string;
  manifestDigest: string;
  names: string[];
}

/** The state of a stage after an instruction: everything the next one and the exporter need. */
interface StageState {
  key: string;
  layers: LayerRef[];
  image: ImageConfig;
  config: ContainerConfig;
  history: HistoryEntry[];
  scope: StageScope;
  flags: StageFlags;
}

const STEP_KINDS = new Set(['run', 'copy', 'add', 'workdir']);

type Execution = typeof import('./execution.js');
let execution: Promise<Execution> | undefined;
/** The step-running half of the engine, loaded on the first cache miss. */
function exec(): Promise<Execution> {
  execution ??= import('./execution.js');
  return execution;
}

/** Builds a Dockerfile into an image in the local store. */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  const engine = await Engine.create(opts);
  return engine.run();
}

/** A stage's scope and config as a definition pass over its instructions sees them. */
interface Precheck {
  scope: StageScope;
  config: ContainerConfig;
}

class Engine {
  private readonly stageResults = new Map<number, Promise<StageState>>();
  private contextEntries: Promise<ContextEntry[]> | undefined;
  private contextTree: KnownTree | undefined;
  private hasher: ContextHasher | undefined;
  /**
   * Content digests of the context files the COPY cache keys took in, for writing their layers:
   * kept as two lists (cheap on a rebuild that writes no layer) and indexed on first use.
   */
  private readonly digested: { entries: ContextEntry[]; digests: string[] } = { entries: [], digests: [] };
  private digestIndex: Map<ContextEntry, string> | undefined;
  private readonly globCache = new Map<string, (name: string) => boolean>();
  private runtime: OciRuntime | undefined;
  private readonly scratch: string;
  private readonly secrets: ReadonlyMap<string, SecretSource>;
  private readonly downloads = new Map<string, ReturnType<typeof downloadSources>>();
  /**
   * Aborted by the caller's signal or by the first stage that fails: stages build in parallel,
   * and once one fails (BuildKit cancels the solve) the others must stop, not keep running and
   * printing steps after the error.
   */
  private readonly cancel = new AbortController();
  /** The error that failed the build first; the stages it canceled report INTERRUPTED. */
  private failure: { error: unknown } | undefined;
  /** Every step record this build ended a step with, cached or new: what `--cache-to` exports. */
  private readonly touched = new Map<string, StepRecord>();
  private readonly localBases = new Map<string, ReturnType<Store['tryResolve']>>();
  /** Stages whose instructions precheckAll dispatched before the build ran anything. */
  private readonly prechecked = new Set<number>();
  /** Layers still compressing after their step ended (commitLayerInBackground), by their ref. */
  private readonly sealing = new Map<LayerRef, Promise<void>>();
  /** Work the build must finish before it exports or ends: those compressions and their step records. */
  private readonly background: Promise<void>[] = [];
  /**
   * Config maps (Labels, ExposedPorts, Volumes) and history arrays that only one stage's current
   * state holds, so a config-only step edits them in place: copying them per step made n LABELs
   * cost O(n²) (100k: minutes). Layer steps and child stages copy, and kept records never get an
   * owned map, so nothing else sees the edits.
   */
  private readonly owned = new WeakSet<object>();

  private constructor(
    private readonly opts: BuildOptions,
    private readonly store: Store,
    private readonly cache: CacheIndex,
    private readonly plan: BuildPlan,
    private readonly dockerfileName: string,
    private readonly dockerfileText: string,
    private readonly matcher: IgnoreMatcher,
  ) {
    this.scratch = store.paths.tmp;
    this.secrets = new Map((opts.secrets ?? []).map((sec) => [sec.id, sec]));
    const outer = opts.signal;
    if (outer?.aborted) this.cancel.abort();
    else outer?.addEventListener('abort', () => this.cancel.abort(), { once: true });
  }

  private get signal(): AbortSignal {
    return this.cancel.signal;
  }

  static async create(opts: BuildOptions): Promise<Engine> {
    const progress = opts.progress;
    const contextDir = resolve(opts.contextDir);
    const ctxStat = await stat(contextDir).catch(() => undefined);
    if (!ctxStat) {
      throw new SlipwayError('CONTEXT', `unable to prepare context: path "${opts.contextDir}" not found`);
    }
    if (!ctxStat.isDirectory()) {
      throw new SlipwayError(
        'CONTEXT',
        `unable to prepare context: context must be a directory: ${contextDir}`,
        {
          hint: 'to build from a context archive, pipe it to `slipway build -`',
        },
      );
    }
    const dockerfilePath = opts.dockerfile ? resolve(opts.dockerfile) : join(contextDir, 'Dockerfile');
    const dockerfileName = opts.dockerfile ? basename(opts.dockerfile) : 'Dockerfile';
    const v1 = progress.start(`[internal] load build definition from ${dockerfileName}`);
    let text: string;
    if (opts.dockerfileText !== undefined) text = opts.dockerfileText;
    else {
      const found = regularFileInside(dirname(dockerfilePath), basename(dockerfilePath));
      if ('refused' in found) {
        v1.fail(found.refused);
        throw new SlipwayError('CONTEXT', `failed to read dockerfile: ${found.refused}`);
      }
      try {
        if ('missing' in found) throw new Error('missing');
        text = await readFile(found.path, 'utf8');
      } catch {
        v1.fail('not found');
        throw new SlipwayError(
          'CONTEXT',
          `failed to read dockerfile: open ${opts.dockerfile ?? (relative(process.cwd(), dockerfilePath) || dockerfilePath)}: no such file or directory`,
        );
      }
    }
    v1.status(`transferring dockerfile: ${Buffer.byteLength(text)}B done`);
    v1.done();
    const ast = parseDockerfile(text, { file: dockerfileName });
    const plan = planBuild(ast, {
      buildArgs: opts.buildArgs ?? {},
      ...(opts.target ? { target: opts.target } : {}),
      platform: hostPlatform(),
      file: dockerfileName,
    });
    for (const w of plan.warnings) {
      progress.warn(w.line ? `${w.message} (line ${w.line})` : w.message);
    }
    const v2 = progress.start('[internal] load .dockerignore');
    const ignore = await readIgnoreFile(contextDir, opts.dockerfile ? dockerfilePath : undefined);
    v2.status(`transferring context: ${ignore.patterns.length ? 'done' : '2B done'}`);
    v2.done();
    const store = await Store.open(opts.root, { extraRoots: () => buildCacheRoots(opts.root) });
    const cache = await CacheIndex.open(opts.root);
    if (!opts.noCache && opts.cacheFrom?.length) {
      // Loaded only when asked for: it brings the registry client (and node:http) along.
      const { importCache } = await import('./cache-transfer.js');
      for (const spec of opts.cacheFrom) {
        const where = spec.type === 'local' ? spec.dir : spec.ref;
        const v = progress.start(`importing cache manifest from ${where}`);
        try {
          await importCache(store, cache, spec, {
            onProgress: (l) => v.status(l),
            ...(opts.signal ? { signal: opts.signal } : {}),
          });
          v.done();
        } catch (e) {
          v.fail((e as Error).message);
          progress.warn(`failed to import cache from ${where}: ${(e as Error).message}`);
        }
      }
    }
    const engine = new Engine(
      { ...opts, contextDir },
      store,
      cache,
      plan,
      dockerfileName,
      text,
      new IgnoreMatcher(ignore.patterns),
    );
    return engine;
  }

  async run(): Promise<BuildResult> {
    const { plan } = this;
    try {
      this.checkReferences();
      await this.precheckAll();
      const final = await this.stage(plan.target).catch((e: unknown) => {
        // A stage waiting on a canceled one fails with INTERRUPTED; the cause is the first error.
        throw this.failure ? this.failure.error : e;
      });
      await this.settle();
      const result = await this.export(final);
      for (const spec of this.opts.cacheTo ?? []) {
        const { exportCache } = await import('./cache-transfer.js');
        const v = this.opts.progress.start(
          `exporting cache to ${spec.type === 'local' ? 'client directory' : 'registry'}`,
        );
        try {
          await exportCache(this.store, [...this.touched.values()], spec, {
            onProgress: (l) => v.status(l),
            signal: this.signal,
          });
          v.done();
        } catch (e) {
          v.fail((e as Error).message);
          if (!spec.ignoreError) throw e;
          this.opts.progress.warn(`failed to export cache: ${(e as Error).message}`);
        }
      }
      return result;
    } finally {
      // No stage may still be running (or mounting) when the store closes. A failed or
      // interrupted build still finishes its compressions: their temp files go, and the steps
      // that did complete keep their cache records.
      await Promise.allSettled(this.stageResults.values());
      await Promise.allSettled(this.background);
      for (const d of this.downloads.values())
        await d.then((x) => rm(x.dir, { recursive: true, force: true })).catch(() => {});
      await this.hasher?.save({ prune: true }).catch(() => {});
      await this.store.close();
    }
  }

  /** Waits for the background work; the first failure among it fails the build. */
  private async settle(): Promise<void> {
    const failed = (await Promise.allSettled(this.background)).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private inBackground(work: Promise<void>): void {
    work.catch(() => {});
    this.background.push(work);
  }

  /**
   * Every image name the target's stages read (FROM, COPY --from, RUN --mount from=) must parse
   * before anything runs: BuildKit rejects a bad one while making the LLB definition, with no
   * step started, not after the other stages ran.
   */
  private checkReferences(): void {
    for (const index of this.plan.order) {
      const stage = this.plan.stages[index]!;
      const refs: Array<{ ref: string; at: { line: number; column: number } }> = [];
      if (stage.base.kind === 'image') refs.push({ ref: stage.base.ref, at: stage.from.range.start });
      for (const dep of stage.dependencies) {
        const cmd = stage.instructions[dep.instruction];
        if (dep.source.kind === 'image' && cmd) refs.push({ ref: dep.source.ref, at: cmd.range.start });
      }
      for (const { ref, at } of refs) {
        try {
          normalizeReference(ref);
        } catch (e) {
          throw located(e, at, this.dockerfileName);
        }
      }
    }
  }

  private stage(index: number): Promise<StageState> {
    let p = this.stageResults.get(index);
    if (!p) {
      p = this.buildStage(this.plan.stages[index]!);
      // Also avoids an unhandled rejection when a stage fails before anyone awaits it.
      p.catch((e: unknown) => {
        this.failure ??= { error: e };
        this.cancel.abort();
      });
      this.stageResults.set(index, p);
    }
    return p;
  }

  private stageLabel(stage: PlannedStage, step: number, total: number): string {
    return `[${stage.displayName ? `${stage.displayName} ` : ''}${step}/${total}]`;
  }

  private async buildStage(stage: PlannedStage): Promise<StageState> {
    // Stages this one reads from start now, so independent stages build in parallel.
    for (const dep of stage.dependsOn) void this.stage(dep);
    // The step count is read when FROM starts: a base image's ONBUILD triggers add steps.
    let total = 0;
    const fromLabel = () => {
      total = 1 + stage.instructions.filter((c) => STEP_KINDS.has(c.kind)).length;
      return this.stageLabel(stage, 1, total);
    };
    let state = await this.baseState(stage, fromLabel);
    if (!this.prechecked.has(stage.index))
      this.precheck(stage, { scope: state.scope.fork(), config: state.config });
    let step = 1;
    for (const cmd of stage.instructions) {
      if (this.signal.aborted) throw new SlipwayError('INTERRUPTED', 'build interrupted');
      const isStep = STEP_KINDS.has(cmd.kind);
      if (isStep) step++;
      const label = isStep ? `${this.stageLabel(stage, step, total)} ${cmd.original}` : '';
      state = await this.dispatch(state, cmd, label);
    }
    return state;
  }

  /**
   * BuildKit turns the whole Dockerfile into its build definition before it runs a step, so an
   * instruction that cannot be expanded or applied (`WORKDIR ${A:?missing}`, `ENV A="x`, `EXPOSE
   * ${P:?}`) fails the build with no step run. The same pass runs over every stage whose base is
   * known without running anything: a local image, scratch, or a stage checked before it. A stage
   * on an image still to be pulled, or whose base has ONBUILD triggers, is checked once its base
   * is in (buildStage).
   */
  private async precheckAll(): Promise<void> {
    const ends = new Map<number, Precheck>();
    for (const index of this.plan.order) {
      const stage = this.plan.stages[index]!;
      const base = stage.base;
      let start: Precheck | undefined;
      if (base.kind === 'scratch') {
        start = { scope: createStageScope(this.plan, []), config: scratchConfig() };
      } else if (base.kind === 'stage') {
        const parent = ends.get(base.index);
        if (parent) start = { scope: parent.scope.fork(), config: { ...parent.config, OnBuild: null } };
      } else if (!this.opts.pull) {
        const record = await this.localBase(base.ref).catch(() => undefined);
        const config = record?.config.config;
        if (record && !config?.OnBuild?.length) {
          start = { scope: createStageScope(this.plan, config?.Env ?? []), config: config ?? {} };
        }
      }
      if (start === undefined) continue;
      ends.set(index, this.precheck(stage, start));
      this.prechecked.add(index);
    }
  }

  /** A base image in the local store, looked up once for precheckAll and baseState both. */
  private localBase(ref: string): ReturnType<Store['tryResolve']> {
    let found = this.localBases.get(ref);
    if (!found) {
      found = this.store.tryResolve(ref);
      this.localBases.set(ref, found);
    }
    return found;
  }

  /** Dispatches a stage's instructions on `start` (its own copies), as BuildKit's definition pass. */
  private precheck(stage: PlannedStage, start: Precheck): Precheck {
    const { scope } = start;
    const config = structuredClone(start.config);
    const flags = { cmdSet: false };
    // The copy is this pass's own: its maps change in place (see applyConfig), or n LABELs cost O(n²).
    const owned = new WeakSet<object>();
    for (const raw of stage.instructions) {
      try {
        const { instruction: cmd } = scope.dispatch(raw);
        if (!isLayerStep(cmd))
          applyConfig(config, asRecorded(cmd), flags, { configEnv: scope.configEnv() }, owned);
      } catch (e) {
        throw this.atStep(e, raw.range.start);
      }
    }
    return { scope, config };
  }

  private async baseState(stage: PlannedStage, fromLabel: () => string): Promise<StageState> {
    const base = stage.base;
    const platform = this.plan.targetPlatform;
    if (stage.platformExplicit && formatPlat(stage.platform) !== formatPlat(platform)) {
      throw new SlipwayError(
        'UNSUPPORTED',
        `FROM --platform=${formatPlat(stage.platform)}: slipway builds for the host platform only (${formatPlat(platform)})`,
        {
          file: this.dockerfileName,
          line: stage.from.range.start.line,
          column: stage.from.range.start.column,
        },
      );
    }
    if (base.kind === 'stage') {
      const parent = await this.stage(base.index);
      const v = this.opts.progress.start(
        `${fromLabel()} FROM ${this.plan.stages[base.index]!.name || base.index}`,
      );
      v.done();
      const config = structuredClone(parent.config);
      // The parent stage's ONBUILD triggers ran here (the plan inserted them); they fire once.
      if (config.OnBuild?.length) config.OnBuild = null;
      return {
        ...parent,
        layers: [...parent.layers],
        config,
        history: [...parent.history],
        image: structuredClone(parent.image),
        scope: parent.scope.fork(),
        flags: { cmdSet: false },
      };
    }
    if (base.kind === 'scratch') {
      fromLabel(); // BuildKit shows no FROM scratch step, but counts it.
      const image: ImageConfig = {
        architecture: platform.architecture,
        os: platform.os,
        rootfs: { type: 'layers', diff_ids: [] },
      };
      if (platform.variant) image.variant = platform.variant;
      return {
        key: cacheKey({
          parent: '',
          op: 'FROM scratch',
          args: {},
          inputs: [],
          platform: formatPlat(platform),
        }),
        layers: [],
        image,
        config: scratchConfig(),
        history: [],
        scope: createStageScope(this.plan, []),
        flags: { cmdSet: false },
      };
    }
    const refText = base.ref;
    let normalized: string;
    try {
      normalized = normalizeReference(refText);
    } catch (e) {
      throw located(e, stage.from.range.start, this.dockerfileName);
    }
    const meta = this.opts.progress.start(`[internal] load metadata for ${normalized}`);
    let record = this.opts.pull ? undefined : await this.localBase(refText);
    if (!record) {
      // Not in the store (or --pull): fetch it the way `slipway pull` does.
      try {
        const { pullImage } = await import('../registry/index.js');
        const pulled = await pullImage(this.store, refText, {
          onProgress: (line) => meta.status(line),
          signal: this.signal,
        });
        record = pulled.record;
      } catch (e) {
        const local = this.opts.pull ? await this.store.tryResolve(refText) : undefined;
        if (local) {
          this.opts.progress.warn(
            `could not pull ${normalized}, using the local image: ${(e as Error).message}`,
          );
          record = local;
        } else {
          meta.fail('not found');
          throw new SlipwayError(
            'BUILD',
            `failed to resolve source metadata for ${normalized}: not in the local store, and pulling it failed: ${(e as Error).message}`,
            {
              file: this.dockerfileName,
              line: stage.from.range.start.line,
              column: stage.from.range.start.column,
              hint: `import or pull "${refText}" first (slipway import / slipway pull)`,
            },
          );
        }
      }
    }
    meta.done();
    const image = structuredClone(record.config);
    // The store knows the base image's unpacked size as a whole; it is carried on its first layer.
    const layers: LayerRef[] = (await imageLayers(this.store, record)).map((l, i) => ({
      ...l,
      uncompressedSize: i === 0 ? record.size : 0,
    }));
    await this.store.pin(layers.flatMap((l) => [l.descriptor.digest, l.chainId]));
    const triggers = image.config?.OnBuild ?? [];
    if (triggers.length) {
      // The base image's ONBUILD triggers run first in this stage and are not inherited further.
      const parsed = parseOnbuildTriggers(triggers, { file: this.dockerfileName, range: stage.from.range });
      for (const index of addOnbuildTriggers(this.plan, stage.index, parsed)) void this.stage(index);
      image.config = { ...image.config, OnBuild: null };
    }
    const v = this.opts.progress.start(`${fromLabel()} FROM ${normalized}`);
    v.done();
    return {
      key: cacheKey({
        parent: '',
        // The image ID (config digest, which fixes every diff_id): the same image keys the same
        // after save/load or a push in other media types, though its manifest digest differs.
        op: `FROM ${record.id}`,
        args: {},
        inputs: [],
        platform: formatPlat(platform),
      }),
      layers,
      image,
      config: structuredClone(image.config ?? {}),
      history: [...(image.history ?? [])],
      scope: createStageScope(this.plan, image.config?.Env ?? []),
      flags: { cmdSet: false },
    };
  }

  private async dispatch(state: StageState, raw: Command, label: string): Promise<StageState> {
    const { instruction: cmd } = state.scope.dispatch(raw);
    const args = this.usedArgValues(state, cmd.usedArgs ?? []);
    const platform = formatPlat(this.plan.targetPlatform);
    if (isLayerStep(cmd)) return this.layerStep(state, cmd, label, args, platform);
    // applyConfig replaces each field it changes, never edits one in place, so a shallow copy
    // keeps state.config intact; a deep copy per step made many-step Dockerfiles quadratic.
    const config = { ...state.config };
    const recorded = asRecorded(cmd);
    // A config only this stage's state holds may have its maps changed in place; one a kept
    // record holds (written to disk, exported at the end) may not.
    const keepsTime =
      cmd.kind !== 'onbuild' && state.history.length === 0 && this.opts.sourceDateEpoch === undefined;
    let applied: ReturnType<typeof applyConfig>;
    try {
      applied = applyConfig(
        config,
        recorded,
        state.flags,
        { configEnv: state.scope.configEnv() },
        keepsTime ? undefined : this.owned,
      );
    } catch (e) {
      throw this.atStep(e, raw.range.start);
    }
    if (!applied) throw new SlipwayError('UNSUPPORTED', `${cmd.name.toUpperCase()} is not supported yet`);
    const parts: CacheKeyParts = { parent: state.key, op: applied.createdBy, args, inputs: [], platform };
    const key = cacheKey(parts);
    // A config-only step's history time must not change on a no-op rebuild. It takes the time of
    // the entry before it (timed) or SOURCE_DATE_EPOCH, so only a first entry needs its time kept
    // in a record. A record per step stored the whole config again each time: 10k LABELs wrote
    // ~2 GB of records and took minutes, BuildKit needs seconds.
    let record = this.opts.noCache || !keepsTime ? undefined : await this.cache.get(key);
    if (!record) {
      record = {
        key,
        parts,
        config,
        history: this.historyEntry(applied.createdBy, true),
        createdAt: new Date().toISOString(),
      };
      if (keepsTime) await this.cache.put(record);
    }
    const image = applied.author === undefined ? state.image : { ...state.image, author: applied.author };
    // Records not kept are not exported either: an importer derives them as this build did.
    if (keepsTime) this.touched.set(record.key, record);
    // BuildKit records ONBUILD only in the config, with no history entry.
    const history =
      cmd.kind === 'onbuild'
        ? state.history
        : this.appended(state.history, this.timed(state, record.history));
    return { ...state, key, image, config: record.config, history };
  }

  /** `history` plus `entry`; a history only this stage holds grows in place, as its config maps do. */
  private appended(history: HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
    if (this.owned.has(history)) {
      history.push(entry);
      return history;
    }
    const copy = [...history, entry];
    this.owned.add(copy);
    return copy;
  }

  private historyEntry(createdBy: string, empty: boolean): HistoryEntry {
    const entry: HistoryEntry = { created: this.now(), created_by: createdBy, comment: HISTORY_COMMENT };
    if (empty) entry.empty_layer = true;
    return entry;
  }

  private now(): string {
    const epoch = this.opts.sourceDateEpoch;
    return epoch === undefined ? new Date().toISOString() : new Date(epoch * 1000).toISOString();
  }

  /** Values of the build args an instruction used; args it could see but did not use stay out of its key. */
  private usedArgValues(state: StageState, used: string[]): Record<string, string> {
    const out: Record<string, string> = {};
    const declared = new Map(state.scope.args().map((a) => [a.key, a.value]));
    for (const name of used) {
      const v = declared.get(name);
      if (v !== undefined) out[name] = v;
    }
    return out;
  }

  private async layerStep(
    state: StageState,
    cmd: RunCmd | CopyCmd | AddCmd | Extract<Command, { kind: 'workdir' }>,
    label: string,
    args: Record<string, string>,
    platform: string,
  ): Promise<StageState> {
    const config = structuredClone(state.config);
    let createdBy: string;
    let inputs: string[] = [];
    if (cmd.kind === 'workdir') {
      config.WorkingDir = resolveWorkdir(config.WorkingDir, cmd.path);
      createdBy = `WORKDIR ${config.WorkingDir}`;
    } else if (cmd.kind === 'run') {
      // BuildKit's history shows the argv it runs: a heredoc's script, not the `<<EOT` marker.
      createdBy = runCreatedBy(this.runCommand(config, cmd).args, this.runHistoryArgs(state));
      if (cmd.files.length) inputs.push(...cmd.files.map((f) => `heredoc:${f.name}:${sha(f.data)}`));
      inputs.push(
        `env:${state.scope.runEnv().join('\0')}`,
        `user:${config.User ?? ''}`,
        `cwd:${config.WorkingDir ?? ''}`,
      );
      if (cmd.mountSpecs.length) inputs.push(`mounts:${cmd.mountSpecs.join('\0')}`);
      const network = this.runNetwork(cmd);
      if (network !== 'default') inputs.push(`network:${network}`);
      // BuildKit's ExecOp carries the extra hosts, so they are part of its cache key too.
      if (this.opts.extraHosts?.length) {
        inputs.push(`hosts:${this.opts.extraHosts.map((h) => `${h.host}=${h.ip}`).join('\0')}`);
      }
      inputs.push(
        ...(await this.bindInputs(cmd).catch((e: unknown) =>
          Promise.reject(this.atStep(e, cmd.range.start)),
        )),
      );
    } else {
      createdBy = copyCreatedBy(cmd);
      inputs = await this.copyInputs(cmd).catch((e: unknown) =>
        Promise.reject(this.atStep(e, cmd.range.start)),
      );
      inputs.push(`chown:${cmd.chown}`, `chmod:${cmd.chmod}`, `cwd:${config.WorkingDir ?? ''}`);
    }
    const compression = this.compression();
    // The same files compressed another way are another blob: keep them apart in the cache.
    if (compression && compression !== 'gzip') inputs.push(`compression:${compression}`);
    const parts: CacheKeyParts = { parent: state.key, op: createdBy, args, inputs, platform };
    const key = cacheKey(parts);
    const v = this.opts.progress.start(label);
    let record = this.opts.noCache ? undefined : await this.cache.get(key);
    if (record?.layer && !(await this.store.hasBlob(record.layer.descriptor.digest))) record = undefined;
    // Every RUN has a layer: a record without one comes from a slipway that dropped empty RUN layers.
    if (record && !record.layer && cmd.kind === 'run') record = undefined;
    if (record?.layer) await this.store.pin([record.layer.descriptor.digest, record.layer.chainId]);
    if (record) {
      v.cached();
    } else {
      try {
        const layer = await this.execute(state, cmd, config, v);
        record = {
          key,
          parts,
          ...(layer ? { layer } : {}),
          config,
          history: this.historyEntry(createdBy, layer === undefined),
          createdAt: new Date().toISOString(),
        };
        // A record must never name a blob that is not in the store yet.
        const sealed = layer && this.sealing.get(layer);
        const finished = record;
        if (sealed) this.inBackground(sealed.then(() => this.cache.put(finished)));
        else await this.cache.put(record);
        v.done();
      } catch (e) {
        if (e instanceof SlipwayError && e.code === 'INTERRUPTED') v.canceled();
        else v.fail(e instanceof Error ? e.message : String(e));
        if (e instanceof RunFailed) throw this.runFailure(e, label, cmd.range);
        throw this.atStep(e, cmd.range.start);
      }
    }
    this.touched.set(record.key, record);
    return this.advance(state, record);
  }

  /** A step's error that names no place in the Dockerfile gets the step's own. */
  private atStep(e: unknown, pos: { line: number; column: number }): unknown {
    if (!(e instanceof SlipwayError) || e.file !== undefined || e.code === 'INTERRUPTED') return e;
    return new SlipwayError(e.code, e.message, {
      file: this.dockerfileName,
      line: pos.line,
      column: pos.column,
      ...(e.hint === undefined ? {} : { hint: e.hint }),
      ...(e.detail === undefined ? {} : { detail: e.detail }),
      cause: e,
    });
  }

  /** BuildKit's report of a failed RUN: its last output, then where it is in the Dockerfile. */
  private runFailure(
    e: RunFailed,
    label: string,
    range: { start: { line: number }; end: { line: number } },
  ): SlipwayError {
    const lines = this.dockerfileText.split(/\r?\n/);
    const from = Math.max(1, range.start.line - 1);
    const to = Math.min(lines.length, range.end.line + 1);
    const excerpt: string[] = [];
    for (let n = from; n <= to; n++) {
      const marker = n >= range.start.line && n <= range.end.line ? '>>>' : '   ';
      excerpt.push(` ${String(n).padStart(3)} | ${marker} ${lines[n - 1] ?? ''}`);
    }
    const detail = [
      '------',
      ` > ${label}:`,
      ...e.tail,
      '------',
      `${this.dockerfileName}:${range.start.line}`,
      '--------------------',
      ...excerpt,
      '--------------------',
    ].join('\n');
    return new SlipwayError('RUN_FAILED', e.message, { detail, cause: e });
  }

  private advance(state: StageState, record: StepRecord): StageState {
    return {
      ...state,
      key: record.key,
      layers: record.layer ? [...state.layers, record.layer] : state.layers,
      config: record.config,
      history: [...state.history, this.timed(state, record.history)],
    };
  }

  /**
   * An entry that adds no layer carries the time of the entry before it, as moby's exporter
   * writes it: a build that only changes config keeps its base's `created` and rebuilds to the
   * same image ID.
   */
  private timed(state: StageState, entry: HistoryEntry): HistoryEntry {
    const previous = state.history.at(-1)?.created;
    if (!entry.empty_layer || previous === undefined || this.opts.sourceDateEpoch !== undefined) return entry;
    return { ...entry, created: previous };
  }

  /** A RUN's network: its own `--network`, else the build's (`build --network`). */
  private runNetwork(cmd: RunCmd): 'default' | 'none' | 'host' {
    return cmd.network === 'default' ? (this.opts.network ?? 'default') : cmd.network;
  }

  /**
   * RUN's argv, heredocs included as BuildKit's dispatchRun makes it: a lone heredoc is the script
   * (one with a shebang is a file the shell runs), heredocs inside a command go back into the
   * shell's text.
   */
  private runCommand(
    config: ContainerConfig,
    cmd: RunCmd,
  ): { args: string[]; files: Array<{ path: string; content: string; mode: number }> } {
    if (cmd.files.length === 0) return { args: withShell(config, cmd.cmdLine, cmd.prependShell), files: [] };
    const body = (f: RunCmd['files'][number]) => (f.chomp ? f.data.replace(/^\t+/gm, '') : f.data);
    const only = cmd.files.length === 1 && /^<<-?(["']?)[^\s"']+\1$/.test((cmd.cmdLine[0] ?? '').trim());
    if (only) {
      const script = cmd.files[0]!;
      if (body(script).startsWith('#!')) {
        const path = `/dev/pipes/${script.name}`;
        return {
          args: withShell(config, [path], true),
          files: [{ path, content: body(script), mode: 0o755 }],
        };
      }
      return { args: withShell(config, [body(script)], true), files: [] };
    }
    const text = [
      cmd.cmdLine.join(' '),
      ...cmd.files.map((f) => `${f.data}${f.data.endsWith('\n') ? '' : '\n'}${f.name}`),
    ].join('\n');
    return { args: withShell(config, [text], true), files: [] };
  }

  /** BuildKit lists the build args a RUN can see (and the env does not override) in its history. */
  private runHistoryArgs(state: StageState): Array<[string, string]> {
    // BuildKit's runCommandString: every arg declared (`U=` when it has no value), shown with its
    // value in the step's env: an ENV's that shadows it, or a later ARG's that re-declares it.
    return state.scope.args().map((a) => [a.key, state.scope.get(a.key) ?? a.value ?? '']);
  }

  private async execute(
    state: StageState,
    cmd: RunCmd | CopyCmd | AddCmd | Extract<Command, { kind: 'workdir' }>,
    config: ContainerConfig,
    v: Vertex,
  ): Promise<LayerRef | undefined> {
    switch (cmd.kind) {
      case 'workdir':
        return this.executeWorkdir(state, config.WorkingDir ?? '/', config.User ?? '');
      case 'run':
        return this.executeRun(state, cmd, config, v);
      default:
        return this.executeCopy(state, cmd, config);
    }
  }

  /** WORKDIR is a mkdir -p owned by the stage's USER; like BuildKit it always adds a layer, empty when the dir exists. */
  private async executeWorkdir(state: StageState, dir: string, user: string): Promise<LayerRef | undefined> {
    // BuildKit's mkdir of `/` is no change at all: no layer (another existing dir gets an empty one).
    if (dir === '/') return undefined;
    const {
      ensureSnapshots,
      layeredView,
      lookupUserGroupForChown,
      resolveImagePath,
      entriesFromDir,
      commitLayer,
    } = await exec();
    const view = layeredView((await ensureSnapshots(this.store, state.layers)).reverse());
    const staging = await this.store.createSnapshotTemp();
    if (!view.stat(dir)?.isDirectory()) {
      // BuildKit's mkdir: through the image's symlinks, owned as `--chown=<USER>` would be.
      const owner = user ? lookupUserGroupForChown(view.layerDirs, user) : { uid: 0, gid: 0 };
      await mkdirLikeBuildkit(
        view,
        staging,
        resolveImagePath(view.layerDirs, dir),
        this.createdTime(),
        owner,
      );
    }
    const entries = await entriesFromDir(staging, { xattrs: 'none' });
    return commitLayer(this.store, state.layers, entries, staging, this.scratch, this.commitOpts());
  }

  private createdTime(): number {
    return this.opts.sourceDateEpoch ?? Math.floor(Date.now() / 1000);
  }

  private commitOpts(): { sourceDateEpoch?: number; compression?: Compression } {
    const compression = this.compression();
    return {
      ...(this.opts.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: this.opts.sourceDateEpoch }),
      ...(compression ? { compression } : {}),
    };
  }

  /** `--output type=image,compression=zstd|uncompressed`; gzip otherwise. */
  private compression(): Compression | undefined {
    const out = this.opts.output;
    return out && 'compression' in out ? out.compression : undefined;
  }

  private async executeRun(
    state: StageState,
    cmd: RunCmd,
    config: ContainerConfig,
    v: Vertex,
  ): Promise<LayerRef | undefined> {
    const {
      ensureSnapshots,
      OciRuntime,
      resolveUser,
      prepareRunMounts,
      openView,
      runStep,
      commitLayerInBackground,
    } = await exec();
    if (cmd.security === 'insecure') {
      throw new SlipwayError('UNSUPPORTED', 'RUN --security=insecure is not supported yet');
    }
    if (cmd.devices.length) throw new SlipwayError('UNSUPPORTED', 'RUN --device is not supported yet');
    const lowerDirs = await ensureSnapshots(this.store, state.layers);
    this.runtime ??= OciRuntime.resolve(this.opts.runtime);
    const owner = resolveUser([...lowerDirs].reverse(), config.User || 'root');
    const views: Array<() => Promise<void>> = [];
    const releaseViews = async () => {
      for (const release of views) await release().catch(() => {});
    };
    const prepared = await prepareRunMounts(cmd.mounts ?? [], {
      root: this.opts.root,
      scratch: this.scratch,
      contextDir: this.opts.contextDir,
      secrets: this.secrets,
      owner,
      cwd: config.WorkingDir || '/',
      freshCaches: this.opts.noCache === true,
      resolveFrom: async (from) => {
        const src = await this.fromSource(from, 'mount');
        const view = await openView(this.store, src.layers, this.scratch);
        views.push(() => view.release());
        return view.root;
      },
    }).catch(async (e: unknown) => {
      // A mount that cannot be set up must not leave a stage's view mounted.
      await releaseViews();
      throw e;
    });
    const env = [...state.scope.runEnv(), ...prepared.env];
    for (const [k, val] of Object.entries(this.plan.proxyEnv)) env.push(`${k}=${val}`);
    const command = this.runCommand(config, cmd);
    let out: Awaited<ReturnType<typeof runStep>>;
    try {
      out = await runStep({
        store: this.store,
        lowerDirs,
        args: command.args,
        files: [...command.files, ...prepared.files],
        env,
        cwd: config.WorkingDir || '/',
        user: config.User ?? '',
        network: this.runNetwork(cmd),
        extraHosts: this.opts.extraHosts ?? [],
        mounts: prepared.mounts,
        runtime: this.runtime,
        onOutput: (stream, line) => v.log(stream, `${line}\n`),
        signal: this.signal,
      });
    } finally {
      await prepared.release();
      await releaseViews();
    }
    const { ref, sealed } = await commitLayerInBackground(
      this.store,
      state.layers,
      out.entries,
      out.upperDir,
      this.scratch,
      this.commitOpts(),
    );
    this.sealing.set(ref, sealed);
    this.inBackground(sealed);
    return ref;
  }

  private matcherFor(pattern: string): (name: string) => boolean {
    let m = this.globCache.get(pattern);
    if (!m) {
      const compiled = compilePattern(pattern);
      m = (name: string) => compiled.test(name);
      this.globCache.set(pattern, m);
    }
    return m;
  }

  private context(): Promise<ContextEntry[]> {
    if (!this.contextEntries) {
      const v = this.opts.progress.start('[internal] load build context');
      this.contextEntries = (async () => {
        const entries = await walkContext(this.opts.contextDir, this.matcher);
        this.hasher = await ContextHasher.open(this.opts.contextDigestCache ?? this.contextDigestCacheFile());
        const bytes = entries.reduce((n, e) => n + (e.type === 'file' ? e.size : 0), 0);
        v.status(`transferring context: ${humanBytes(bytes)} done`);
        v.done();
        return entries;
      })();
    }
    return this.contextEntries;
  }

  /** One digest cache per context directory, so a large context elsewhere never slows this one down. */
  private contextDigestCacheFile(): string {
    const name = createHash('sha256').update(this.opts.contextDir).digest('hex').slice(0, 32);
    return join(this.opts.root, 'cache', 'context', `${name}.bin`);
  }

  /** The context walk as COPY looks things up in it: per-path records and per-directory listings. */
  private async knownContext(): Promise<KnownTree> {
    if (!this.contextTree) {
      const stats = new Map<string, ContextEntry>();
      const children = new Map<string, ContextEntry[]>();
      for (const e of await this.context()) {
        stats.set(e.path, e);
        const slash = e.path.lastIndexOf('/');
        const dir = slash === -1 ? '.' : e.path.slice(0, slash);
        let list = children.get(dir);
        if (!list) {
          list = [];
          children.set(dir, list);
        }
        list.push(e);
      }
      this.contextTree = {
        stat: (rel) => stats.get(rel),
        // A directory the walk kept but found empty (or kept only for what is below) lists nothing.
        children: (rel) => children.get(rel) ?? (stats.has(rel) || rel === '.' ? [] : undefined),
        digest: (entry) => this.contentDigest(entry as ContextEntry),
      };
    }
    return this.contextTree;
  }

  private contentDigest(entry: ContextEntry): string | undefined {
    if (!this.digestIndex) {
      const { entries, digests } = this.digested;
      this.digestIndex = new Map(entries.map((e, i) => [e, digests[i] as string]));
    }
    return this.digestIndex.get(entry);
  }

  /** Content digests of what a COPY/ADD reads, so the key changes exactly when its inputs do. */
  private async copyInputs(cmd: CopyCmd | AddCmd): Promise<string[]> {
    const inputs: string[] = [];
    if (cmd.sourceContents.length) {
      for (const c of cmd.sourceContents) inputs.push(`heredoc:${c.path}:${sha(c.data)}`);
      return inputs;
    }
    const from = cmd.kind === 'copy' ? cmd.from : '';
    if (from) {
      const src = await this.fromSource(from, 'copy');
      inputs.push(`from:${src.key}`);
      return inputs;
    }
    if (cmd.kind === 'add' && cmd.sourcePaths.some(isUrl)) {
      const downloaded = await this.download(cmd);
      return [...downloaded.files.map((f) => `url:${f.url}:${f.digest}`), `dest:${cmd.destPath}`];
    }
    const entries = await this.context();
    // Built only when a source involves a link: a plain `COPY . .` never needs it.
    const links = async (): Promise<LinkLookup> => {
      const known = await this.knownContext();
      return (rel) => {
        const e = known.stat(rel);
        return e && { isLink: e.linkTarget !== undefined, linkTarget: e.linkTarget };
      };
    };
    const matcher = (p: string) => this.matcherFor(p);
    const digestOf = (selected: ContextEntry[]) =>
      digestSelection(selected, this.hasher!, this.opts.contextDir, {
        onDigest: (entry, d) => {
          this.digested.entries.push(entry);
          this.digested.digests.push(d);
          this.digestIndex = undefined;
        },
      });
    for (const src of cmd.sourcePaths) {
      let named = cleanSourcePath(src);
      let selected = selectEntries(entries, named, matcher);
      if (selected.length === 0 && !hasWildcard(named)) {
        // A path through a symlinked directory (`ld/b`) is the path it leads to.
        named = resolveSourcePath(await links(), named, false) ?? named;
        selected = selectEntries(entries, named, matcher);
      }
      inputs.push(`ctx:${src}:${await digestOf(selected)}`);
      // A symlink named as a source, or matched by a wildcard, is copied as what it points at.
      const depth = named === '' || named === '.' ? 0 : named.split('/').length;
      if (depth === 0) continue;
      for (const top of selected) {
        if (top.type !== 'symlink' || top.path.split('/').length !== depth) continue;
        const target = resolveSourcePath(await links(), top.path, true);
        if (target === undefined || target === top.path) continue;
        inputs.push(`link:${top.path}:${target}:${await digestOf(selectEntries(entries, target, matcher))}`);
      }
    }
    if (cmd.excludePatterns.length) inputs.push(`exclude:${cmd.excludePatterns.join('\0')}`);
    if (cmd.kind === 'copy' && cmd.parents) inputs.push('parents');
    return inputs;
  }

  /** What RUN --mount=type=bind reads is part of the step's key, like a COPY's sources. */
  private async bindInputs(cmd: RunCmd): Promise<string[]> {
    const inputs: string[] = [];
    for (const m of cmd.mounts ?? []) {
      if (m.type !== 'bind') continue;
      if (m.from) inputs.push(`bind-from:${(await this.fromSource(m.from, 'mount')).key}`);
      else {
        const selected = selectEntries(await this.context(), m.source || '.', (p) => this.matcherFor(p));
        inputs.push(
          `bind:${m.source}:${await digestSelection(selected, this.hasher!, this.opts.contextDir)}`,
        );
      }
    }
    return inputs;
  }

  /**
   * ADD's URLs are fetched once per build (the content digest is part of the step's key), into a
   * directory laid out as a source tree: one file per URL, mode 0600, mtime from Last-Modified.
   */
  private download(
    cmd: AddCmd,
  ): Promise<{ dir: string; files: Array<{ url: string; name: string; digest: string }> }> {
    const key = cmd.sourcePaths.join('\0');
    let pending = this.downloads.get(key);
    if (!pending) {
      pending = downloadSources(cmd, join(this.scratch, tempName('add')));
      this.downloads.set(key, pending);
    }
    return pending;
  }

  /** `--from`: a stage by name or index, else an image in the store. */
  /**
   * The stage or image a `COPY --from` or `RUN --mount from=` reads. Only COPY takes a stage by
   * index, as BuildKit resolves them (its mounts look stages up by name; `from=0` is an image
   * named 0): resolving a mount's `0` inside stage 0 to stage 0 made the stage wait for itself.
   */
  private async fromSource(
    from: string,
    via: 'copy' | 'mount',
  ): Promise<{ key: string; layers: LayerRef[] }> {
    const byName = this.plan.stages.find((s) => s.name === from.toLowerCase());
    const index = byName ? byName.index : via === 'copy' && /^\d+$/.test(from) ? Number(from) : undefined;
    if (index !== undefined && this.plan.stages[index]) {
      const s = await this.stage(index);
      return { key: s.key, layers: s.layers };
    }
    const record = await this.store.tryResolve(from);
    if (!record) {
      const flag = via === 'copy' ? 'COPY --from' : 'RUN --mount from';
      throw new SlipwayError(
        'BUILD',
        `${flag}=${from}: no stage or image named "${from}" (image not in the local store)`,
      );
    }
    return { key: record.id, layers: await imageLayers(this.store, record) };
  }

  private async executeCopy(
    state: StageState,
    cmd: CopyCmd | AddCmd,
    config: ContainerConfig,
  ): Promise<LayerRef | undefined> {
    const {
      ensureSnapshots,
      layeredView,
      openView,
      lookupUserGroupForChown,
      copyInto,
      applyChmod,
      commitLayer,
      DirectoryTarget,
      EntryTarget,
      layerIndexFile,
      openPreviousLayer,
    } = await exec();
    const view = layeredView((await ensureSnapshots(this.store, state.layers)).reverse());
    const releases: Array<() => Promise<void>> = [];
    const download = cmd.kind === 'add' && cmd.sourcePaths.some(isUrl);
    const unpackArchives = cmd.kind === 'add' && cmd.unpack !== false && !download;
    // Context files outlive the step, so their layer can be written from them directly; other
    // sources (heredocs, downloads, another stage's mount) are gone once the step is over.
    const direct =
      cmd.sourceContents.length === 0 && !(cmd.kind === 'copy' && cmd.from) && !download && !unpackArchives;
    // When this step's layer was written before (an edit since), its unchanged members are taken
    // from that layer instead of their files (see layer/reuse.ts).
    const indexFile =
      direct && (this.compression() ?? 'gzip') === 'gzip'
        ? layerIndexFile(this.store.root, state.key, copyCreatedBy(cmd))
        : undefined;
    const previous = indexFile && !this.opts.noCache ? openPreviousLayer(this.store, indexFile) : undefined;
    const target: CopyTarget = direct
      ? new EntryTarget()
      : new DirectoryTarget(await this.store.createSnapshotTemp());
    try {
      let tree: SourceTree;
      let sources = cmd.sourcePaths;
      const from = cmd.kind === 'copy' ? cmd.from : '';
      if (cmd.sourceContents.length) {
        // A temp name (owner PID inside) so the next command removes it if this process is killed.
        const dir = join(this.scratch, tempName('heredoc'));
        await mkdir(dir);
        releases.push(() => rm(dir, { recursive: true, force: true }));
        for (const c of cmd.sourceContents) await writeFile(join(dir, c.path), c.data, { mode: 0o644 });
        tree = { root: dir, resetOwnership: true };
        sources = cmd.sourceContents.map((c) => c.path);
      } else if (download) {
        const downloaded = await this.download(cmd);
        tree = { root: downloaded.dir, resetOwnership: true };
        sources = downloaded.files.map((f) => f.name);
      } else if (from) {
        const src = await this.fromSource(from, 'copy');
        const srcView = await openView(this.store, src.layers, this.scratch);
        releases.push(() => srcView.release());
        tree = { root: srcView.root, resetOwnership: false };
      } else {
        const known = await this.knownContext();
        tree = {
          root: this.opts.contextDir,
          resetOwnership: true,
          includes: (p) => known.stat(p) !== undefined,
          known,
        };
      }
      const chown = cmd.chown
        ? lookupUserGroupForChown(view.layerDirs, cmd.chown, { needsDb: true })
        : undefined;
      const chmodSpec = cmd.chmodSpec;
      await copyInto(
        {
          sources,
          dest: cmd.destPath,
          workdir: config.WorkingDir ?? '/',
          ...(chown ? { chown } : {}),
          ...(chmodSpec
            ? { chmod: (mode: number, isDir: boolean) => applyChmod(chmodSpec, mode, isDir) }
            : {}),
          excludes: cmd.excludePatterns,
          parents: cmd.kind === 'copy' && cmd.parents,
          createdDirTime: this.createdTime(),
          ...(this.opts.sourceDateEpoch === undefined ? {} : { clampTime: this.opts.sourceDateEpoch }),
          instruction: cmd.name.toUpperCase(),
          unpackArchives,
        },
        tree,
        view,
        target,
        (pattern, name) => this.matcherFor(pattern)(name),
      );
    } catch (e) {
      await target.discard();
      throw e;
    } finally {
      for (const r of releases.reverse()) await r().catch(() => {});
    }
    const { entries, snapshotDir } = await target.finish();
    const reuse = await previous;
    return commitLayer(this.store, state.layers, entries, snapshotDir, this.scratch, {
      ...this.commitOpts(),
      ...(reuse ? { previous: reuse } : {}),
      ...(indexFile ? { indexFile } : {}),
    });
  }

  private async export(final: StageState): Promise<BuildResult> {
    const output = this.opts.output ?? { type: 'image' };
    if (output.type === 'local' || output.type === 'tar') {
      const { flattenInto, writeRootfsTar } = await exec();
      const v = this.opts.progress.start(
        `exporting to client ${output.type === 'local' ? 'directory' : 'tarball'}`,
      );
      if (output.type === 'local') await flattenInto(this.store, final.layers, output.dest);
      else await writeRootfsTar(this.store, final.layers, output.dest);
      v.done();
      return { imageId: '', manifestDigest: '', names: [] };
    }
    const v = this.opts.progress.start('exporting to image');
    const labels = this.opts.labels ?? {};
    const merged = structuredClone(final.config);
    if (Object.keys(labels).length) merged.Labels = { ...(merged.Labels ?? {}), ...labels };
    const config = asBuildKitWrites(merged);
    const history = final.history;
    const created =
      this.opts.sourceDateEpoch !== undefined
        ? new Date(this.opts.sourceDateEpoch * 1000).toISOString()
        : (history.at(-1)?.created ?? new Date().toISOString());
    const image: ImageConfig = {
      ...final.image,
      created,
      config,
      rootfs: { type: 'layers', diff_ids: final.layers.map((l) => l.diffId) },
      history,
    };
    v.status('exporting layers done');
    // Recording the image and naming it is one index.json update.
    const put = await this.store.putImage({
      config: image,
      layers: final.layers.map((l) => l.descriptor),
      uncompressedSizes: final.layers.map((l) => l.uncompressedSize ?? l.descriptor.size),
      tags: this.opts.tags ?? [],
    });
    v.status(`writing image ${put.configDigest} done`);
    const names = put.names;
    for (const name of names) v.status(`naming to ${name} done`);
    if (output.type === 'oci' || output.type === 'docker') {
      v.status(`sending tarball to ${output.dest}`);
      const { saveImages } = await import('../images/save.js');
      const out = output.dest === '-' ? process.stdout : createWriteStream(output.dest);
      await saveImages(this.store, names.length ? names : [put.configDigest], out, output.type);
    }
    v.done();
    return { imageId: put.configDigest, manifestDigest: put.manifestDigest, names };
  }
}

/**
 * An expanded instruction as its history records it. BuildKit records an ARG's default as it
 * expanded it (`ARG D="$A  d"` shows `ARG D=cliA  d`), never the --build-arg value that overrides
 * it, and a bare `ARG NAME` as just its name.
 */
function asRecorded<C extends Command>(cmd: C): C {
  if (cmd.kind !== 'arg') return cmd;
  const args = cmd.args.map((a) => ({ key: a.key, value: a.expandedDefault, comment: a.comment }));
  return { ...cmd, args };
}

/** Steps that add a layer; every other instruction only changes the config. */
function isLayerStep(cmd: Command): cmd is RunCmd | CopyCmd | AddCmd | Extract<Command, { kind: 'workdir' }> {
  return cmd.kind === 'run' || cmd.kind === 'copy' || cmd.kind === 'add' || cmd.kind === 'workdir';
}

/** BuildKit's empty image (FROM scratch): the default PATH and `/` as the working directory. */
function scratchConfig(): ContainerConfig {
  return { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' };
}

/**
 * The config as BuildKit's ImageConfig marshals it: every field is omitempty (an ENTRYPOINT
 * that cleared Cmd leaves no `"Cmd": null`) except OnBuild, which every image has, null or not.
 */
function asBuildKitWrites(config: ContainerConfig): ContainerConfig {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config) as Array<[string, unknown]>) {
    const empty =
      value === null ||
      value === undefined ||
      value === '' ||
      value === false ||
      (Array.isArray(value) && value.length === 0) ||
      (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0);
    if (!empty) out[key] = value;
  }
  out.OnBuild = config.OnBuild?.length ? config.OnBuild : null;
  return out as ContainerConfig;
}

function formatPlat(p: { os: string; architecture: string; variant?: string }): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function located(e: unknown, pos: { line: number; column: number }, file: string): SlipwayError {
  const message = e instanceof Error ? e.message : String(e);
  return new SlipwayError('BUILD', message, { file, line: pos.line, column: pos.column });
}

function sha(data: string): string {
  return createHash('sha256').update(data).digest('hex');
}

async function downloadSources(
  cmd: AddCmd,
  dir: string,
): Promise<{ dir: string; files: Array<{ url: string; name: string; digest: string }> }> {
  if (!cmd.sourcePaths.every(isUrl)) {
    throw new SlipwayError(
      'UNSUPPORTED',
      'ADD mixing URLs and local files in one instruction is not supported yet',
    );
  }
  if (cmd.sourcePaths.some((u) => u.startsWith('git@') || /\.git(#|$)/.test(u))) {
    throw new SlipwayError('UNSUPPORTED', 'ADD of a git repository is not supported yet');
  }
  if (cmd.checksum && cmd.sourcePaths.length > 1) {
    throw new SlipwayError('BUILD', "checksum can't be specified for multiple sources");
  }
  await mkdir(dir, { recursive: true });
  const files: Array<{ url: string; name: string; digest: string }> = [];
  const { send } = await import('../registry/http.js');
  for (const url of cmd.sourcePaths) {
    let response: Awaited<ReturnType<typeof send>>;
    try {
      // Through the registry's HTTP client: it verifies TLS with the CAs slipway was started with.
      let target = new URL(url);
      for (let hops = 0; ; hops++) {
        response = await send({ method: 'GET', url: target, tls: { verify: true } });
        const location = response.headers.location;
        if (![301, 302, 303, 307, 308].includes(response.status) || !location || hops >= 10) break;
        response.body.resume();
        target = new URL(location, target);
      }
    } catch (e) {
      throw new SlipwayError('BUILD', `failed to load ${url}: ${(e as Error).message}`);
    }
    if (response.status < 200 || response.status > 299) {
      response.body.resume();
      throw new SlipwayError('BUILD', `failed to load ${url}: invalid response status ${response.status}`);
    }
    const name =
      decodeURIComponent(new URL(url).pathname.split('/').filter(Boolean).pop() ?? '') || '__unnamed__';
    const path = join(dir, name);
    const hash = createHash('sha256');
    await pipeline(
      response.body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(path, { mode: 0o600 }),
    );
    const digest = `sha256:${hash.digest('hex')}`;
    if (cmd.checksum && cmd.checksum !== digest) {
      throw new SlipwayError('BUILD', `digest mismatch for ${url}: expected ${cmd.checksum}, got ${digest}`);
    }
    await chmod(path, 0o600);
    // BuildKit's http source stamps the file with Last-Modified, or with the epoch when there is none.
    const modified = Date.parse(String(response.headers['last-modified'] ?? ''));
    const mtime = Number.isFinite(modified) ? modified / 1000 : 0;
    await utimes(path, mtime, mtime);
    files.push({ url, name, digest });
  }
  return { dir, files };
}

function isUrl(s: string): boolean {
  return /^https?:\/\//.test(s) || /^git@/.test(s);
}

function humanBytes(n: number): string {
  if (n < 1000) return `${n}B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(2)}kB`;
  return `${(n / 1e6).toFixed(2)}MB`;
}

/**
 * BuildKit's COPY/ADD history text: sources and destination only (BuildKit 20.10, the peer
 * recorded in test/golden, drops --from/--chown/--chmod from it).
 */
function copyCreatedBy(cmd: CopyCmd | AddCmd): string {
  const srcs = cmd.sourceContents.length ? cmd.sourceContents.map((c) => `<<${c.path}`) : cmd.sourcePaths;
  return `${cmd.name.toUpperCase()} ${[...srcs, cmd.destPath].join(' ')} # buildkit`;
}

/** Context entries a COPY source word selects: the path itself, everything below it, and glob matches. */
function selectEntries(
  entries: readonly ContextEntry[],
  src: string,
  matcherFor: (pattern: string) => (name: string) => boolean,
): ContextEntry[] {
  const cleaned = cleanSourcePath(src);
  if (cleaned === '' || cleaned === '.') return [...entries];
  if (!hasWildcard(cleaned)) {
    return entries.filter((e) => e.path === cleaned || e.path.startsWith(`${cleaned}/`));
  }
  const parts = cleaned.split('/');
  return entries.filter((e) => {
    const segs = e.path.split('/');
    if (segs.length < parts.length) return false;
    for (let i = 0; i < parts.length; i++) if (!matcherFor(parts[i]!)(segs[i]!)) return false;
    return true;
  });
}

/** WORKDIR's mkdir -p: new directories 0755 root, existing parents copied up unchanged. */
async function mkdirLikeBuildkit(
  view: ImageView,
  staging: string,
  dir: string,
  time: number,
  owner: { uid: number; gid: number },
): Promise<void> {
  const { stageDirectory, DirectoryTarget } = await exec();
  const target = new DirectoryTarget(staging);
  const parts = dir.split('/').filter(Boolean);
  let current = '';
  for (const part of parts) {
    current += `/${part}`;
    stageDirectory(target, current, view.lstat(current), owner, time);
  }
  // A directory that got a new child moved to "now": the step's time stands for it, as for the
  // new directories themselves. Existing ones with only copied-up children kept the image's.
  for (let i = parts.length; i > 0; i--) {
    const p = `/${parts.slice(0, i).join('/')}`;
    const child = i < parts.length ? `/${parts.slice(0, i + 1).join('/')}` : undefined;
    if (view.lstat(p) && (child === undefined || view.lstat(child))) continue;
    await utimes(join(staging, p), time, time);
  }
}
