import { readFileSync } from 'node:fs';
import { dumpBuildkit } from '../../dockerfile/dump.js';
import { parseDockerfile } from '../../dockerfile/parser.js';
import { SlipwayError } from '../../errors.js';
import type { CliContext, CommandRunner } from '../context.js';

const USAGE = `Usage: slipway debug parse [-f FILE] [--json]

Parse a Dockerfile and print BuildKit's parse-tree dump (or the AST as JSON)

Options:
  -f, --file FILE   Dockerfile to read (default ./Dockerfile; - reads stdin)
      --json        Print the syntax tree as JSON
`;

interface ParseArgs {
  file: string;
  json: boolean;
  help: boolean;
}

function parseArgs(args: string[]): ParseArgs {
  const out: ParseArgs = { file: 'Dockerfile', json: false, help: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--json') out.json = true;
    else if (a === '-h' || a === '--help') out.help = true;
    else if (a === '-f' || a === '--file') {
      const v = args[++i];
      if (v === undefined) throw new SlipwayError('USAGE', `flag needs an argument: ${a}`);
      out.file = v;
    } else if (a.startsWith('--file=')) out.file = a.slice('--file='.length);
    else if (a.startsWith('-f') && a.length > 2) out.file = a.slice(a[2] === '=' ? 3 : 2);
    else if (a.startsWith('-') && a !== '-') throw new SlipwayError('USAGE', `unknown flag: ${a}`);
    else throw new SlipwayError('USAGE', `"slipway debug parse" accepts no arguments, got "${a}"`);
  }
  return out;
}

function readSource(file: string): Uint8Array {
  try {
    return readFileSync(file === '-' ? 0 : file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file or directory' : code === 'EISDIR' ? 'is a directory' : code;
    throw new SlipwayError('NOT_FOUND', `failed to read dockerfile: open ${file}: ${reason ?? String(e)}`, {
      cause: e,
    });
  }
}

async function parse(args: string[], ctx: CliContext): Promise<number> {
  const opts = parseArgs(args);
  if (opts.help) {
    ctx.out(USAGE);
    return 0;
  }
  const ast = parseDockerfile(readSource(opts.file), { file: opts.file === '-' ? 'Dockerfile' : opts.file });
  ctx.out(opts.json ? `${JSON.stringify(ast, null, 2)}\n` : `${dumpBuildkit(ast)}\n`);
  return 0;
}

export const run: CommandRunner = async (args, ctx) => {
  const [sub, ...rest] = args;
  if (sub === 'parse') return parse(rest, ctx);
  if (sub === undefined || sub === '-h' || sub === '--help') {
    ctx.out(USAGE);
    return 0;
  }
  throw new SlipwayError('USAGE', `unknown debug command: ${sub}`, { hint: "see 'slipway debug --help'" });
};
