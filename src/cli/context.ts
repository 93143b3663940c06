import { homedir } from 'node:os';
import { join } from 'node:path';

/** What every command receives: resolved global options, nothing parsed twice. */
export interface CliContext {
  root: string;
  debug: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
}

export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SLIPWAY_ROOT) return env.SLIPWAY_ROOT;
  if (process.getuid?.() === 0) return '/var/lib/slipway';
  const dataHome = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(dataHome, 'slipway');
}

/** A command module: parses its own flags, calls the library, prints, returns the exit code. */
export type CommandRunner = (args: string[], ctx: CliContext) => Promise<number>;
