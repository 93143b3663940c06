/**
 * Spawning the detached container supervisor (its entry is supervise.ts). Kept apart from the rest
 * of the container code so `run` can start it before loading anything else.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SlipwayError } from '../errors.js';
import type { TerminalSize } from './pty.js';
import type { ContainerRecord } from './record.js';
import type { ContainerStore } from './store.js';
import type { ReadyMessage } from './supervisor.js';

/** A container that could not start, with Docker's exit status for it (125/126/127). */
export class StartError extends SlipwayError {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super('CONTAINER', message);
  }
}

/** What `go` passes on (lifecycle's StartOptions satisfy it). */
export interface GoOptions {
  /** The CLI stays attached (foreground run): it removes an --rm container itself after reading the exit code. */
  attached: boolean;
  /** The supervisor's fd 0 is the user's stdin, to hand to the container (`run -i` in the foreground). */
  stdinFromUs: boolean;
  /** The attached client's terminal size, for a `-t` container. */
  terminalSize?: TerminalSize;
}

/** What the CLI sends a waiting supervisor on its fd 4, one JSON line. */
export interface GoMessage extends GoOptions {
  id: string;
}

/** A supervisor process that has started (Node, its modules) and waits to be told which container is its. */
export interface PendingSupervisor {
  /** Hands it the container and waits until the container runs (or why it could not). */
  go(store: ContainerStore, rec: ContainerRecord, opts: GoOptions): Promise<void>;
  /** It exits without doing anything. */
  cancel(): void;
}

let early: { root: string; supervisor: PendingSupervisor } | undefined;

/**
 * Spawns a supervisor for a coming `run` before its flags are parsed, without our stdin: a
 * foreground `run -i` (the one case that hands it our stdin) spawns its own instead.
 */
export function startEarlySupervisor(root: string): void {
  early = { root, supervisor: prepareSupervisor(root, { stdinFromUs: false }) };
}

/** The early supervisor when it fits (same root, no stdin wanted), else a new one. */
export function takeSupervisor(root: string, opts: { stdinFromUs: boolean }): PendingSupervisor {
  const taken = early;
  early = undefined;
  if (taken && taken.root === root && !opts.stdinFromUs) return taken.supervisor;
  taken?.supervisor.cancel();
  return prepareSupervisor(root, opts);
}

/** The supervisor's own entry, next to this module (bundled: dist/cli/supervise.cjs; tsc output: supervise.js). */
function supervisorEntry(): string {
  const bundled = fileURLToPath(new URL('./supervise.cjs', import.meta.url));
  return existsSync(bundled) ? bundled : fileURLToPath(new URL('./supervise.js', import.meta.url));
}

/**
 * Spawns the detached supervisor now, so its Node start-up overlaps the CLI's own work (creating
 * the container record, publishing ports): a second Node start is most of what `run -d` costs.
 */
export function prepareSupervisor(root: string, opts: { stdinFromUs: boolean }): PendingSupervisor {
  const dir = join(root, 'containers');
  mkdirSync(dir, { recursive: true });
  // Its output goes here until it knows its container, then it moves the file to supervisor.log.
  const earlyLog = join(dir, `.supervisor.${process.pid}.${Date.now()}.log`);
  const logFd = openSync(earlyLog, 'a');
  let child: ReturnType<typeof spawn>;
  try {
    // Node would parse NODE_EXTRA_CA_CERTS while the supervisor starts; it makes no TLS connections.
    const { NODE_EXTRA_CA_CERTS: _unused, ...env } = process.env;
    child = spawn(process.execPath, [supervisorEntry(), '--root', root, '--log', earlyLog], {
      detached: true,
      cwd: '/',
      env,
      stdio: [opts.stdinFromUs ? 'inherit' : 'ignore', logFd, logFd, 'pipe', 'pipe'],
    });
  } finally {
    closeSync(logFd);
  }
  const ready = waitReady(child, earlyLog);
  const readyPipe = child.stdio[3] as Socket | null;
  const goPipe = child.stdio[4] as Socket | null;
  goPipe?.on('error', () => {});
  // Until it is handed a container, a waiting supervisor must not keep the CLI alive (a failed
  // `run` exits, the supervisor reads EOF and exits too).
  const hold = (on: boolean) => {
    for (const h of [child, readyPipe, goPipe]) {
      if (on) h?.ref();
      else h?.unref();
    }
  };
  hold(false);
  const done = () => {
    readyPipe?.destroy();
    hold(false);
  };
  return {
    go: async (store, rec, start) => {
      const msg: GoMessage = {
        id: rec.id,
        attached: start.attached,
        stdinFromUs: start.stdinFromUs,
        ...(start.terminalSize ? { terminalSize: start.terminalSize } : {}),
      };
      hold(true);
      goPipe?.end(`${JSON.stringify(msg)}\n`);
      const answer = await ready;
      done();
      if (!answer.ok) {
        const log = store.paths(rec.id).supervisorLog;
        throw new StartError(
          (answer.error ?? 'container failed to start').replace(earlyLog, log),
          answer.exitCode ?? 125,
        );
      }
    },
    cancel: () => {
      goPipe?.end();
      done();
      rmSync(earlyLog, { force: true });
    },
  };
}

function waitReady(child: ReturnType<typeof spawn>, logPath: string): Promise<ReadyMessage> {
  return new Promise<ReadyMessage>((resolve) => {
    let text = '';
    const ready = child.stdio[3];
    child.once('error', (e) =>
      resolve({ ok: false, error: `cannot start supervisor: ${e.message}`, exitCode: 125 }),
    );
    ready?.on('data', (b: Buffer) => {
      text += b.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl !== -1) {
        try {
          resolve(JSON.parse(text.slice(0, nl)) as ReadyMessage);
        } catch {
          resolve({ ok: false, error: `supervisor said: ${text}`, exitCode: 125 });
        }
      }
    });
    ready?.on('error', () => {});
    child.once('exit', (code) =>
      resolve({
        ok: false,
        error: `container supervisor exited (${code}) before the container started; see ${logPath}`,
        exitCode: 125,
      }),
    );
  });
}
