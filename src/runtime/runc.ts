import { spawn } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../errors.js';
import { isProcessAlive } from '../store/fsutil.js';
import { execCapture } from './exec.js';
import { type OutputTarget, sinkFor } from './lines.js';
import { serializeSpec } from './spec.js';
import type { OciRuntimeSpec } from './spec-types.js';

/** Searched after $PATH: a non-login root shell often lacks the sbin dirs where Debian puts runc. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin'];

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The OCI runtime binary for `--runtime` (a name looked up in $PATH and the sbin dirs, or a path).
 * Without one, runc is looked up (crun's CLI is compatible, but it refuses hybrid cgroup hosts).
 */
export function resolveRuntimeBinary(
  nameOrPath?: string,
  env: NodeJS.ProcessEnv = process.env,
  extraDirs: readonly string[] = EXTRA_DIRS,
): string {
  const wanted = nameOrPath ?? env.SLIPWAY_RUNTIME;
  if (wanted?.includes('/')) {
    if (executable(wanted)) return wanted;
    throw new SlipwayError('RUNTIME', `OCI runtime not found or not executable: ${wanted}`);
  }
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(isAbsolute), ...extraDirs];
  for (const name of wanted ? [wanted] : ['runc']) {
    for (const dir of dirs) {
      const p = join(dir, name);
      if (executable(p)) return p;
    }
  }
  if (wanted) {
    throw new SlipwayError('RUNTIME', `OCI runtime "${wanted}" not found in $PATH`, {
      hint: 'pass a runtime name on $PATH or an absolute path to --runtime',
    });
  }
  throw new SlipwayError('RUNTIME', 'no OCI runtime found: install the Debian package "runc"');
}

/** `runc state` output. */
export interface ContainerState {
  ociVersion: string;
  id: string;
  pid: number;
  status: 'creating' | 'created' | 'running' | 'stopped' | 'paused';
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
}

export interface RunOptions {
  bundleDir: string;
  /** Written to `<bundleDir>/config.json`; omit to use one already there. */
  spec?: OciRuntimeSpec;
  id: string;
  stdout?: OutputTarget;
  stderr?: OutputTarget;
  /** Fed to the process; without it the process reads /dev/null, like a Dockerfile RUN. */
  stdin?: Readable;
  signal?: AbortSignal;
}

export interface RunResult {
  /** The process's exit status; 128+N when it died of signal N (runc's convention). */
  exitCode: number;
  /** Set when the container was killed: by us on abort, or runc itself died of a signal. */
  signal?: string;
  /** runc's own failure (e.g. `exec: "x": executable file not found in $PATH`); also printed on stderr. */
  runtimeError?: string;
}

export interface CreateOptions {
  bundleDir: string;
  spec?: OciRuntimeSpec;
  id: string;
  /** Files the detached process writes its stdout/stderr to (appended). */
  stdoutFile: string;
  stderrFile: string;
  pidFile?: string;
}

/** A runc-CLI-compatible OCI runtime (runc, crun, youki…). */
export class OciRuntime {
  /**
   * @param binary absolute path of the runtime
   * @param stateRoot `--root` for the runtime's state; undefined = the runtime's default (/run/runc)
   */
  constructor(
    readonly binary: string,
    readonly stateRoot?: string,
  ) {}

  static resolve(nameOrPath?: string, stateRoot?: string): OciRuntime {
    return new OciRuntime(resolveRuntimeBinary(nameOrPath), stateRoot);
  }

  private globalArgs(logFile?: string): string[] {
    const args = this.stateRoot === undefined ? [] : ['--root', this.stateRoot];
    if (logFile !== undefined) args.push('--log', logFile, '--log-format', 'json');
    return args;
  }

  /** Whether the runtime still holds state for `id` (cheaper than spawning `runc state`). */
  hasState(id: string): boolean {
    return existsSync(join(this.stateRoot ?? '/run/runc', id));
  }

  /**
   * `runc run` in the foreground: streams output live, resolves with the exit status.
   * On abort the whole container (its pid namespace) is SIGKILLed; runc state is always removed.
   */
  async run(opts: RunOptions): Promise<RunResult> {
    validateId(opts.id);
    prepareBundle(opts.bundleDir, opts.spec);
    const logFile = join(opts.bundleDir, 'runtime.log');
    writeFileSync(logFile, '');
    if (opts.signal?.aborted) {
      throw new SlipwayError('INTERRUPTED', 'container run aborted before start');
    }
    const child = spawn(
      this.binary,
      [...this.globalArgs(logFile), 'run', '--bundle', opts.bundleDir, opts.id],
      { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] },
    );
    const out = sinkFor(opts.stdout);
    const err = sinkFor(opts.stderr);
    child.stdout?.on('data', (c: Buffer) => out.write(c));
    child.stderr?.on('data', (c: Buffer) => err.write(c));
    if (opts.stdin && child.stdin) {
      child.stdin.on('error', () => {}); // the process may exit without reading its input
      opts.stdin.pipe(child.stdin);
    }

    let exited = false;
    let killedByUs = false;
    const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        exited = true;
        resolve({ code, signal });
      });
    });
    const onAbort = () => {
      killedByUs = true;
      void this.killUntilExit(opts.id, () => exited);
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const { code, signal } = await closed;
      out.end();
      err.end();
      const result: RunResult = { exitCode: code ?? 128 + 9 };
      if (killedByUs) result.signal = 'SIGKILL';
      else if (signal) result.signal = signal;
      const runtimeError = readRuntimeError(logFile);
      if (runtimeError !== undefined) result.runtimeError = runtimeError;
      return result;
    } catch (e) {
      throw new SlipwayError('RUNTIME', `cannot start ${this.binary}: ${(e as Error).message}`, { cause: e });
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      if (opts.stdin && child.stdin) opts.stdin.unpipe(child.stdin);
      if (this.hasState(opts.id)) await this.delete(opts.id, { force: true }).catch(() => {});
    }
  }

  /**
   * Kill and delete containers a killed process left running. Foreground containers whose ids
   * `ownerOf` maps to a PID (their starter's) are orphans once that PID is gone: a SIGKILLed
   * `slipway build` cannot stop its RUN step, and neither runc nor the step's init die with it.
   * With `bundleUnder`, only containers whose bundle lies there are touched (a PID from another
   * PID namespace sharing the state dir would look dead). Only reads the state dir when nothing is left over.
   */
  async reapOrphans(
    ownerOf: (id: string) => number | undefined,
    opts: { bundleUnder?: string } = {},
  ): Promise<string[]> {
    let ids: string[];
    try {
      ids = readdirSync(this.stateRoot ?? '/run/runc');
    } catch {
      return [];
    }
    const reaped: string[] = [];
    for (const id of ids) {
      const pid = ownerOf(id);
      if (pid === undefined || isProcessAlive(pid)) continue;
      if (opts.bundleUnder !== undefined) {
        const bundle = await this.state(id).then(
          (st) => st.bundle,
          () => undefined,
        );
        if (bundle === undefined || !bundle.startsWith(opts.bundleUnder)) continue;
      }
      await this.kill(id, 'KILL').catch(() => {});
      await this.delete(id, { force: true }).catch(() => {});
      reaped.push(id);
    }
    return reaped;
  }

  /**
   * `runc kill KILL` until the foreground `runc run` is gone: right after spawn the container may not
   * exist yet, and killing runc itself would leave a half-created container behind.
   */
  private async killUntilExit(id: string, exited: () => boolean): Promise<void> {
    for (let i = 0; !exited() && i < 500; i++) {
      await execCapture(this.binary, [...this.globalArgs(), 'kill', id, 'KILL']).catch(() => undefined);
      if (exited()) return;
      await sleep(i < 10 ? 10 : 50);
    }
  }

  /** `runc create`: the container waits for `start`; its stdio goes to the given files. */
  async create(opts: CreateOptions): Promise<void> {
    validateId(opts.id);
    prepareBundle(opts.bundleDir, opts.spec);
    const logFile = join(opts.bundleDir, 'runtime.log');
    const outFd = openSync(opts.stdoutFile, 'a');
    const errFd = openSync(opts.stderrFile, 'a');
    try {
      const args = [...this.globalArgs(logFile), 'create', '--bundle', opts.bundleDir];
      if (opts.pidFile !== undefined) args.push('--pid-file', opts.pidFile);
      args.push(opts.id);
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(this.binary, args, { stdio: ['ignore', outFd, errFd], detached: true });
        child.on('error', reject);
        child.on('exit', (c) => resolve(c));
      });
      if (code !== 0) {
        throw new SlipwayError(
          'RUNTIME',
          readRuntimeError(logFile) ?? `${this.binary} create exited with ${code}`,
        );
      }
    } finally {
      closeSync(outFd);
      closeSync(errFd);
    }
  }

  async start(id: string): Promise<void> {
    await this.simple(['start', id]);
  }

  async state(id: string): Promise<ContainerState> {
    return JSON.parse(await this.simple(['state', id])) as ContainerState;
  }

  /** Sends `signal` (name like `TERM`/`SIGKILL` or number) to the init process, or to all with `all`. */
  async kill(id: string, signal: string | number = 'SIGTERM', opts: { all?: boolean } = {}): Promise<void> {
    await this.simple(['kill', ...(opts.all ? ['--all'] : []), id, String(signal)]);
  }

  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.simple(['delete', ...(opts.force ? ['--force'] : []), id]);
  }

  async list(): Promise<ContainerState[]> {
    const out = await this.simple(['list', '--format', 'json']);
    const parsed = JSON.parse(out.trim() || 'null') as ContainerState[] | null;
    return parsed ?? [];
  }

  private async simple(args: string[]): Promise<string> {
    let r: Awaited<ReturnType<typeof execCapture>>;
    try {
      r = await execCapture(this.binary, [...this.globalArgs(), ...args]);
    } catch (e) {
      throw new SlipwayError('RUNTIME', `cannot run ${this.binary}: ${(e as Error).message}`, { cause: e });
    }
    if (r.code !== 0) {
      const msg = r.stderr.trim().split('\n').pop() || `exit ${r.code}`;
      throw new SlipwayError('RUNTIME', `${args[0]} ${args[args.length - 1]}: ${msg}`);
    }
    return r.stdout;
  }
}

/** runc accepts `^[\w+-\.]+$` ids; checking here gives a clear error instead of runc's. */
function validateId(id: string): void {
  if (!/^[\w+.-]+$/.test(id))
    throw new SlipwayError('RUNTIME', `invalid container id: ${JSON.stringify(id)}`);
}

function prepareBundle(bundleDir: string, spec: OciRuntimeSpec | undefined): void {
  mkdirSync(bundleDir, { recursive: true });
  if (spec !== undefined) writeFileSync(join(bundleDir, 'config.json'), serializeSpec(spec));
}

/** The last error runc logged (`--log-format json`), if any. */
/** The last error a runtime wrote to its `--log-format json` log, in the runtime's own words. */
export function readRuntimeError(logFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  let msg: string | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === 'error' || entry.level === 'fatal') && entry.msg) msg = entry.msg;
    } catch {
      // a torn line from a killed runtime
    }
  }
  return msg;
}

let defaultRuntime: OciRuntime | undefined;

/** `runContainer` with the default runtime (runc, runc's state dir) unless one is given. */
export function runContainer(opts: RunOptions & { runtime?: OciRuntime }): Promise<RunResult> {
  if (opts.runtime) return opts.runtime.run(opts);
  defaultRuntime ??= OciRuntime.resolve();
  return defaultRuntime.run(opts);
}
