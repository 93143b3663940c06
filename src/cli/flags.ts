import { Command, Option } from 'commander';
import { SlipwayError } from '../errors.js';

/**
 * A commander Command set up the way Docker parses flags: errors become one-line usage errors,
 * help goes to stdout, and options may follow positionals unless the verb passes through (run, exec).
 */
export function dockerCommand(name: string, usage: string, description: string): Command {
  const cmd = new Command(name)
    .usage(usage)
    .description(description)
    .helpOption('-h, --help', 'Print usage')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: () => {},
      outputError: () => {},
    });
  cmd.showSuggestionAfterError(true);
  return cmd;
}

/** Runs commander and turns its parse errors into SlipwayError('USAGE'), Docker style. */
export function parseFlags(cmd: Command, args: string[]): 'help' | 'ok' {
  try {
    cmd.parse(args, { from: 'user' });
    return 'ok';
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') return 'help';
    const message = (err.message ?? String(e)).replace(/^error: /, '');
    throw new SlipwayError('USAGE', message, { hint: `See 'slipway ${cmd.name()} --help'.` });
  }
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function repeatable(flags: string, description: string): Option {
  return new Option(flags, description).argParser(collect).default([]);
}

/** Docker's KEY=VALUE lists (`--build-arg`, `--label`); a bare KEY takes the value from the environment. */
export function keyValues(list: string[], fromEnv: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq === -1) {
      if (fromEnv) {
        const v = process.env[item];
        if (v !== undefined) out[item] = v;
      } else out[item] = '';
    } else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}
