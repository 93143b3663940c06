import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { CliContext } from '../cli/context.js';
import { SlipwayError } from '../errors.js';
import { tempName } from '../store/fsutil.js';

export interface TerminalSize {
  cols: number;
  rows: number;
}

/** A process whose stdio is the slave side of a pseudo-terminal we hold the master of. */
export interface PtyProcess {
  readonly pid: number;
  onData(fn: (chunk: Buffer) => void): void;
  write(data: Buffer | string): void;
  resize(size: TerminalSize): void;
  /** Settles after the last output was delivered: the exit status, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: number | null }>;
}

export const DEFAULT_TERMINAL_SIZE: TerminalSize = { cols: 80, rows: 24 };

/**
 * Spawns `file args` on a fresh pseudo-terminal. runc with `process.terminal: true` in the
 * foreground insists its own stdin is a terminal: it then allocates the container's terminal in
 * the container's devpts and relays it, which gives the container a real /dev/pts/0 and
 * controlling terminal (what Docker's -t gives) without us receiving fds over a console socket.
 */
export async function spawnOnPty(file: string, args: string[], size: TerminalSize): Promise<PtyProcess> {
  let pty: typeof import('@lydell/node-pty');
  try {
    // require, not import(): the bundle runs from V8's code cache, where a lazily compiled import()
    // has lost the loader it needs (Node 20).
    pty = createRequire(import.meta.url)('@lydell/node-pty') as typeof import('@lydell/node-pty');
  } catch (e) {
    throw new SlipwayError(
      'RUNTIME',
      `-t needs the @lydell/node-pty package (npm ci installs it): ${(e as Error).message}`,
    );
  }
  // encoding null: output arrives as raw bytes, so a UTF-8 sequence split across reads stays intact.
  const child = pty.spawn(file, args, {
    name: 'xterm',
    cols: size.cols,
    rows: size.rows,
    cwd: '/',
    env: process.env as Record<string, string>,
    encoding: null,
  });
  const exited = new Promise<{ code: number | null; signal: number | null }>((resolve) => {
    child.onExit(({ exitCode, signal }) =>
      resolve(signal ? { code: null, signal } : { code: exitCode, signal: null }),
    );
  });
  return {
    pid: child.pid,
    onData: (fn) => {
      child.onData((d: string | Buffer) => fn(typeof d === 'string' ? Buffer.from(d) : d));
    },
    write: (data) => child.write(typeof data === 'string' ? data : data.toString('binary')),
    resize: ({ cols, rows }) => child.resize(cols, rows),
    exited,
  };
}

/** The size of the terminal on fd 1 (else fd 0), as Docker takes it from the client's output stream. */
export function clientTerminalSize(): TerminalSize {
  for (const s of [process.stdout, process.stderr]) {
    if (s.isTTY && s.columns > 0 && s.rows > 0) return { cols: s.columns, rows: s.rows };
  }
  return DEFAULT_TERMINAL_SIZE;
}

/** The CLI leaves a resize here, then SIGWINCHes the supervisor, which reads it. */
export function writeTerminalSize(path: string, size: TerminalSize): void {
  const tmp = join(dirname(path), tempName('tty-size'));
  writeFileSync(tmp, `${size.cols} ${size.rows}\n`);
  renameSync(tmp, path);
}

export function readTerminalSize(path: string): TerminalSize | undefined {
  try {
    const [cols, rows] = readFileSync(path, 'utf8').trim().split(' ').map(Number);
    if (cols && rows && cols > 0 && rows > 0) return { cols, rows };
  } catch {
    // no resize requested yet
  }
  return undefined;
}

/** `-it` reads keystrokes from our terminal; Docker refuses it (exit 1) when stdin is not one. */
export function refuseTerminalInput(ctx: CliContext, tty: boolean, interactive: boolean): boolean {
  if (!tty || !interactive || process.stdin.isTTY) return false;
  ctx.err('the input device is not a TTY\n');
  return true;
}
