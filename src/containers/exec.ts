import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SlipwayError } from '../errors.js';
import { readRuntimeError } from '../runtime/runc.js';
import type { OciProcess, OciRuntimeSpec } from '../runtime/spec-types.js';
import { resolveUser } from '../runtime/users.js';
import { clientTerminalSize, spawnOnPty } from './pty.js';
import { containerRuntime, isRunning, resolveContainer } from './lifecycle.js';
import type { ContainerStore } from './store.js';
import { startFailureCode, withPrimaryGroup } from './supervisor.js';

export interface ExecOptions {
  interactive: boolean;
  /** `-t`: the process gets a pseudo-terminal, relayed to our stdout (and from our stdin with -i). */
  tty: boolean;
  detach: boolean;
  env: string[];
  user?: string;
  workdir?: string;
  command: string[];
}

/** `docker exec`: a new process in the running container (runc exec), its stdio ours; returns its exit status. */
export async function execInContainer(cs: ContainerStore, ref: string, opts: ExecOptions): Promise<number> {
  const rec = await resolveContainer(cs, ref);
  if (!isRunning(rec)) throw new SlipwayError('CONFLICT', `container ${rec.id} is not running`);
  if (opts.workdir !== undefined && opts.workdir !== '' && !opts.workdir.startsWith('/')) {
    throw new SlipwayError(
      'USAGE',
      `the working directory '${opts.workdir}' is invalid, it needs to be an absolute path`,
    );
  }
  const runtime = containerRuntime();
  const p = cs.paths(rec.id);
  const logFile = join(p.dir, `exec-${process.pid}.log`);
  const processFile = join(p.dir, `exec-${process.pid}.json`);
  const args = ['--root', runtime.stateRoot ?? '', '--log', logFile, '--log-format', 'json', 'exec'];
  const env = opts.tty ? [...opts.env, 'TERM=xterm'] : opts.env;
  const user = opts.user === '' ? undefined : opts.user;
  if (user !== undefined) {
    // runc exec's --additional-gids adds to the container's groups; Docker's exec -u replaces them.
    // A whole process (the container's, with this exec's changes) is the only way to say so.
    const base = (JSON.parse(readFileSync(join(p.bundle, 'config.json'), 'utf8')) as OciRuntimeSpec).process;
    const u = withPrimaryGroup(resolveUser(p.rootfs, user));
    const proc: OciProcess = {
      ...base,
      terminal: opts.tty,
      user: { uid: u.uid, gid: u.gid, additionalGids: u.additionalGids },
      args: opts.command,
      env: [...base.env, ...env],
      cwd: opts.workdir || base.cwd,
    };
    writeFileSync(processFile, JSON.stringify(proc));
    args.push('--process', processFile);
  } else {
    for (const e of env) args.push('--env', e);
    if (opts.workdir) args.push('--cwd', opts.workdir);
    if (opts.tty) args.push('--tty');
  }
  if (opts.detach) args.push('--detach');
  args.push(rec.id, ...(user === undefined ? opts.command : []));
  try {
    const code = opts.tty
      ? await execOnTerminal(runtime.binary, args, opts.interactive)
      : await new Promise<number>((resolve, reject) => {
          const child = spawn(runtime.binary, args, {
            stdio: [opts.interactive && !opts.detach ? 'inherit' : 'ignore', 'inherit', 'inherit'],
          });
          child.on('error', reject);
          child.on('exit', (c, sig) => resolve(c ?? 128 + (sig === 'SIGKILL' ? 9 : 15)));
        });
    const err = readRuntimeError(logFile);
    if (err !== undefined) {
      throw new ExecStartError(
        `OCI runtime exec failed: ${err}: unknown`,
        startFailureCode(err) === 125 ? 126 : startFailureCode(err),
      );
    }
    return code;
  } finally {
    rmSync(logFile, { force: true });
    rmSync(processFile, { force: true });
  }
}

/** `runc exec --tty` on a pseudo-terminal of ours, relayed to our stdio; our terminal raw while -i. */
async function execOnTerminal(binary: string, args: string[], interactive: boolean): Promise<number> {
  const child = await spawnOnPty(binary, args, clientTerminalSize());
  child.onData((chunk) => process.stdout.write(chunk));
  const onResize = () => child.resize(clientTerminalSize());
  process.stdout.on('resize', onResize);
  const relay = (b: Buffer) => child.write(b);
  const raw = interactive && process.stdin.isTTY === true;
  if (interactive) {
    if (raw) process.stdin.setRawMode(true);
    process.stdin.on('data', relay);
  }
  try {
    const { code, signal } = await child.exited;
    return code ?? 128 + (signal ?? 0);
  } finally {
    process.stdout.off('resize', onResize);
    if (interactive) {
      process.stdin.off('data', relay);
      if (raw) process.stdin.setRawMode(false);
      process.stdin.pause();
    }
  }
}

/** An exec that never started: Docker exits 126 (cannot run) or 127 (not found). */
export class ExecStartError extends SlipwayError {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super('RUNTIME', message);
  }
}
