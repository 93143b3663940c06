import { Command, Option } from 'commander';
import { SlipwayError } from '../errors.js';
import { ArgCountError } from './usage-error.js';

/**
 * A commander Command set up the way Docker parses flags: errors become one-line usage errors,
 * help goes to stdout, and options may follow positionals unless the verb passes through (run, exec).
 */
export function dockerCommand(name: string, usage: string, description: string): Command {
  const cmd = new Command(name)
    .usage(usage)
    .description(description)
    .helpOption('-h, --help', 'Print usage')
    .configureHelp({ formatHelp: (c) => dockerHelp(c) })
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: () => {},
      outputError: () => {},
    });
  cmd.showSuggestionAfterError(true);
  return cmd;
}

const HELP_WIDTH = 80;

/** pflag's word for what a flag takes (`--filter filter`, `--tag list`, `--format string`). */
function flagType(o: Option): string {
  if (Array.isArray(o.defaultValue)) return o.long === '--filter' ? 'filter' : 'list';
  const placeholder = /<([^>]+)>/.exec(o.flags)?.[1];
  if (placeholder === 'filter' || placeholder === 'mount') return placeholder;
  if (placeholder === 'seconds' || o.long === '--last') return 'int';
  return 'string';
}

/** pflag's `(default …)`: strings quoted, and nothing for an empty list, false or no default. */
function flagDefault(o: Option): string {
  const d: unknown = o.defaultValue;
  if (d === undefined || d === false || d === '' || (Array.isArray(d) && d.length === 0)) return '';
  return ` (default ${typeof d === 'string' ? JSON.stringify(d) : String(d)})`;
}

/** `text` in lines of at most `width` columns, broken at spaces. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  lines.push(line);
  return lines;
}

/**
 * `--help` as docker/cli prints it: `Usage:  slipway <verb> …`, the description, then the flags in
 * pflag's columns (long names aligned, sorted, with their type word), without a line for --help.
 */
export function dockerHelp(cmd: Command): string {
  const flags = cmd.options
    .filter((o) => o.long !== '--help' && !o.hidden)
    .sort((a, b) => (a.long ?? '').localeCompare(b.long ?? ''))
    .map((o) => {
      const takes = o.required || o.optional ? ` ${flagType(o)}` : '';
      return {
        left: `  ${o.short ? `${o.short}, ` : '    '}${o.long}${takes}`,
        text: `${o.description}${flagDefault(o)}`,
      };
    });
  let out = `\nUsage:  slipway ${cmd.name()} ${cmd.usage()}\n\n${cmd.description()}\n`;
  if (flags.length > 0) {
    const column = Math.max(...flags.map((f) => f.left.length)) + 3;
    out += '\nOptions:\n';
    for (const f of flags) {
      const [first, ...rest] = wrap(f.text, Math.max(HELP_WIDTH - column, 20));
      out += `${f.left.padEnd(column)}${first}\n`;
      for (const line of rest) out += `${' '.repeat(column)}${line}\n`;
    }
  }
  return out;
}

/** Runs commander and turns its parse errors into SlipwayError('USAGE'), Docker style. */
export function parseFlags(cmd: Command, args: string[]): 'help' | 'ok' {
  try {
    cmd.parse(args, { from: 'user' });
    return 'ok';
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') return 'help';
    // cobra.NoArgs' sentence for a command that takes no arguments (`ps x`, `image prune x`).
    if (err.code === 'commander.excessArguments' && cmd.registeredArguments.length === 0) {
      throw new ArgCountError(cmd, 'accepts no arguments');
    }
    const message = pflagMessage((err.message ?? String(e)).replace(/^error: /, ''), args);
    throw new SlipwayError('USAGE', message, { hint: `See 'slipway ${cmd.name()} --help'.` });
  }
}

/** Commander's parse-error sentence in the words of spf13/pflag, which users see from docker. */
export function pflagMessage(message: string, args: readonly string[]): string {
  // pflag suggests nothing; commander's "(Did you mean --force?)" line goes.
  const first = message.split('\n')[0]!;
  const unknown = /^unknown option '(-[^']*)'/.exec(first);
  if (unknown) {
    const flag = unknown[1]!;
    if (flag.startsWith('--')) return `unknown flag: ${flag.split('=')[0]}`;
    return `unknown shorthand flag: '${flag[1]}' in ${flag}`;
  }
  const missing = /^option '(?:-(\w), )?--([\w-]+)[^']*' argument missing/.exec(first);
  if (missing) {
    const [, short, long] = missing;
    if (short !== undefined && args.at(-1) === `-${short}`) {
      return `flag needs an argument: '${short}' in -${short}`;
    }
    return `flag needs an argument: --${long}`;
  }
  return first;
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
