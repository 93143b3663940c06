/**
 * The environment a stage's instructions are expanded against, as BuildKit's dispatch
 * keeps it: the base image's Env, then each ENV and each ARG that got a value, in order
 * (so a later ENV overrides an ARG of the same name and vice versa). ARG values reach
 * expansion and RUN's environment but never the image config. The engine creates one
 * scope per stage (from the base image's Env, or by forking the parent stage's scope) and
 * feeds it each instruction in order.
 */
import { SlipwayError } from '../../errors.js';
import { type EscapeToken, ShellLex } from '../shell/lex.js';
import type { ExpansionEnv } from '../shell/types.js';
import { expandInstruction, type WordExpander } from './expand.js';
import type { ArgBinding, ArgCmd, Command } from './types.js';

/** BuildKit's system.DefaultPathEnv for Linux. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Build args the frontend reads for itself; they never enter the environment. */
const NON_ENV_ARGS = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);

export interface StageScopeOptions {
  escapeToken: EscapeToken;
  /** Global scope: automatic platform ARGs and meta ARGs, build-arg overrides applied. */
  globalArgs: ReadonlyMap<string, string>;
  /** `--build-arg` values. */
  buildArgs: Readonly<Record<string, string>>;
  file?: string;
}

export interface DispatchResult {
  /** The instruction with variables substituted and `usedArgs` set. */
  instruction: Command;
  /** Names referenced but unset (BuildKit's UndefinedVar candidates). */
  unset: string[];
}

function splitEnv(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
}

export class StageScope {
  private readonly lex: ShellLex;
  private readonly rawLex = new ShellLex('\\', { skipProcessQuotes: true });
  /** What expansion and RUN see (llb state env): a redefined name moves to the end. */
  private readonly env: Map<string, string>;
  /** The image config's Env: a redefined name keeps its place. */
  private readonly config: [string, string][];
  /** ARGs declared in this stage, with their values. */
  private readonly declared: ArgBinding[];

  private constructor(
    private readonly opts: StageScopeOptions,
    env: Map<string, string>,
    config: [string, string][],
    declared: ArgBinding[],
  ) {
    this.lex = new ShellLex(opts.escapeToken);
    this.env = env;
    this.config = config;
    this.declared = declared;
  }

  /**
   * A scope for a stage whose base is an image (or scratch) with this `Env`. Like BuildKit,
   * a base without PATH gets the default one, in the config too.
   */
  static fromImageEnv(baseEnv: readonly string[], opts: StageScopeOptions): StageScope {
    const env = new Map<string, string>();
    const config: [string, string][] = [];
    const entries = baseEnv.some((e) => splitEnv(e)[0] === 'PATH')
      ? baseEnv
      : [...baseEnv, `PATH=${DEFAULT_PATH}`];
    for (const entry of entries) {
      const [k, v] = splitEnv(entry);
      env.delete(k);
      env.set(k, v);
      const i = config.findIndex(([ck]) => ck === k);
      if (i >= 0) config[i] = [k, v];
      else config.push([k, v]);
    }
    return new StageScope(opts, env, config, []);
  }

  /**
   * A child stage (`FROM parent`) starts from the parent's env, ARG values included (BuildKit
   * hands it the parent's llb state, where each ARG was an AddEnv), but not the parent's ARG
   * declarations: its dispatch state starts with no buildArgs, so the child's RUN history has
   * no `|N k=v` prefix until the child declares ARGs of its own.
   */
  fork(): StageScope {
    return new StageScope(
      this.opts,
      new Map(this.env),
      this.config.map(([k, v]) => [k, v]),
      [],
    );
  }

  /** Env for expansion and RUN, `K=V`, in order. */
  runEnv(): string[] {
    return [...this.env].map(([k, v]) => `${k}=${v}`);
  }

  /** Env for the image config, `K=V`. */
  configEnv(): string[] {
    return this.config.map(([k, v]) => `${k}=${v}`);
  }

  /** ARGs in scope with their values, in declaration order, re-declarations included (history prefixes RUN with `|N k=v ...`). */
  args(): ArgBinding[] {
    return this.declared.map((a) => ({ ...a }));
  }

  get(name: string): string | undefined {
    return this.env.get(name);
  }

  private expansionEnv(): ExpansionEnv {
    const env = this.env;
    return { get: (name) => env.get(name) };
  }

  private setEnv(key: string, value: string): void {
    this.env.delete(key);
    this.env.set(key, value);
  }

  /** Expands and applies one instruction; ENV and ARG update the scope. */
  dispatch(cmd: Command): DispatchResult {
    const used: string[] = [];
    const unset: string[] = [];
    const note = (u: readonly string[], s: readonly string[]) => {
      for (const n of u) if (!used.includes(n)) used.push(n);
      for (const n of s) if (!unset.includes(n)) unset.push(n);
    };
    if (cmd.kind === 'arg') {
      const instruction = this.dispatchArg(cmd, note);
      return { instruction: { ...instruction, usedArgs: used }, unset };
    }
    const env = this.expansionEnv();
    const ex: WordExpander = {
      word: (w) => {
        const r = this.lex.processWord(w, env);
        note(r.used, r.unset);
        return r.value;
      },
      words: (w) => {
        const r = this.lex.processWords(w, env);
        note(r.used, r.unset);
        return r.values;
      },
      raw: (w) => {
        const r = this.rawLex.processWord(w, env);
        note(r.used, r.unset);
        return r.value;
      },
    };
    const expanded = expandInstruction(cmd, ex, this.opts.file);
    if (expanded.kind === 'env') {
      for (const kv of expanded.env) {
        this.setEnv(kv.key, kv.value);
        const i = this.config.findIndex(([k]) => k === kv.key);
        if (i >= 0) this.config[i] = [kv.key, kv.value];
        else this.config.push([kv.key, kv.value]);
      }
    }
    return { instruction: { ...expanded, usedArgs: used }, unset };
  }

  private dispatchArg(
    cmd: ArgCmd,
    note: (used: readonly string[], unset: readonly string[]) => void,
  ): ArgCmd {
    const resolved: ArgBinding[] = [];
    // Like ENV, every default is expanded against the env from before the instruction
    // (BuildKit expands the whole command first): `ARG A=1 B=x$A` gives B=x, not x1.
    const before = new Map(this.env);
    const beforeEnv: ExpansionEnv = { get: (name) => before.get(name) };
    for (const arg of cmd.args) {
      let expandedDefault: string | undefined;
      if (arg.value !== undefined) {
        try {
          const r = this.lex.processWord(arg.value, beforeEnv);
          note(r.used, r.unset);
          expandedDefault = r.value;
        } catch (e) {
          const where = { file: this.opts.file, line: cmd.range.start.line, column: cmd.range.start.column };
          if (e instanceof SlipwayError) throw new SlipwayError(e.code, e.message, { ...where, cause: e });
          throw e;
        }
      }
      let value: string | undefined;
      if (Object.hasOwn(this.opts.buildArgs, arg.key)) value = this.opts.buildArgs[arg.key];
      else if (arg.value !== undefined) value = expandedDefault;
      // `ARG NAME` alone re-declares a global ARG (or automatic platform ARG) in the stage.
      else value = this.opts.globalArgs.get(arg.key);
      if (value !== undefined && !NON_ENV_ARGS.has(arg.key)) this.setEnv(arg.key, value);
      const binding: ArgBinding = { key: arg.key, value, comment: arg.comment };
      if (expandedDefault !== undefined) binding.expandedDefault = expandedDefault;
      // A re-declared ARG is listed again, as BuildKit appends to its buildArgs (RUN history
      // shows `|3 A=x B=y A=x`); the last binding is the one in effect.
      this.declared.push(binding);
      resolved.push(binding);
    }
    return { ...cmd, args: resolved };
  }
}
