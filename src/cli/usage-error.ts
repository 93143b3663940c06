import { SlipwayError } from '../errors.js';

/** What an argument-count error needs from a command: commander's Command has these. */
export interface UsageSource {
  name(): string;
  usage(): string;
  description(): string;
}

/**
 * docker/cli's argument-count error (cli/required.go): the sentence and the help hint, then the
 * usage line and the command's description. Docker exits 1 for it, not 125 as for a bad flag.
 */
export class ArgCountError extends SlipwayError {
  readonly usage: string;

  /** `requirement`: `requires exactly 2 arguments`, `accepts no arguments`, … */
  constructor(cmd: UsageSource, requirement: string) {
    const path = `slipway ${cmd.name()}`;
    super('USAGE', `"${path}" ${requirement}.`, { hint: `See '${path} --help'.` });
    this.usage = `Usage:  ${path} ${cmd.usage()}\n\n${cmd.description()}`;
  }
}

/** docker/cli's argument-count checks (cli/required.go), with its wording; returns the arguments. */
export function requireArgs(
  cmd: UsageSource & { args: readonly string[] },
  n: number,
  kind: 'exactly' | 'at least' | 'at most' = 'at least',
): string[] {
  const got = cmd.args.length;
  const ok = kind === 'exactly' ? got === n : kind === 'at least' ? got >= n : got <= n;
  if (!ok) throw new ArgCountError(cmd, `requires ${kind} ${n} argument${n === 1 ? '' : 's'}`);
  return [...cmd.args];
}

/** The text and exit status Docker gives a usage error, or undefined for slipway's own `ERROR:` line. */
export function dockerUsageError(e: SlipwayError): { text: string; status: number } | undefined {
  // Only errors carrying Docker's hint are Docker's: cobra prints them bare, hint on its own line.
  if (e.code !== 'USAGE' || !e.hint?.startsWith('See ')) return undefined;
  if (e instanceof ArgCountError) return { text: `${e.message}\n${e.hint}\n\n${e.usage}\n`, status: 1 };
  return { text: `${e.message}\n${e.hint}\n`, status: 125 };
}
