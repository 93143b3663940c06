import type { Command } from 'commander';
import { ArgCountError } from '../cli/usage-error.js';
import { SlipwayError } from '../errors.js';
import { InvalidFilterError } from './filters.js';
import { TemplateError } from './format.js';

/** What a CLI command needs to print Docker's error lines. */
export interface ErrorSink {
  err: (text: string) => void;
}

/** docker/cli's argument-count checks, with its wording (the command's name: `images`, `image ls`, …). */
export function requireArgs(cmd: Command, n: number, kind: 'exactly' | 'at least' | 'at most'): string[] {
  const got = cmd.args.length;
  const ok = kind === 'exactly' ? got === n : kind === 'at least' ? got >= n : got <= n;
  if (!ok) throw new ArgCountError(cmd, `requires ${kind} ${n} argument${n === 1 ? '' : 's'}`);
  return cmd.args;
}

/** The line Docker prints for a daemon-side failure, or undefined for errors main.ts reports itself. */
export function dockerErrorLine(e: unknown): string | undefined {
  if (e instanceof TemplateError) return e.message;
  if (e instanceof InvalidFilterError) return `Error response from daemon: ${e.message}`;
  if (e instanceof SlipwayError && (e.code === 'NOT_FOUND' || e.code === 'CONFLICT')) {
    return `Error response from daemon: ${e.message}`;
  }
  return undefined;
}

/** Run `fn`; daemon-style failures print as Docker prints them and exit 1, the rest propagate. */
export async function withDockerErrors(sink: ErrorSink, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (e) {
    const line = dockerErrorLine(e);
    if (line === undefined) throw e;
    sink.err(`${line}\n`);
    return 1;
  }
}
