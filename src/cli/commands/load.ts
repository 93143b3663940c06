import { createReadStream } from 'node:fs';
import { withDockerErrors } from '../../images/cli-support.js';
import { loadArchive } from '../../images/load.js';
import { Store } from '../../store/store.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { ArgCountError } from '../usage-error.js';

export async function runLoad(
  args: string[],
  ctx: Parameters<CommandRunner>[1],
  verb = 'load',
): Promise<number> {
  const cmd = dockerCommand(verb, '[OPTIONS]', 'Load an image from a tar archive or STDIN')
    .option('-i, --input <file>', 'Read from tar archive file, instead of STDIN')
    .option('-q, --quiet', 'Suppress the load output')
    .option('--platform <platform>', 'Load only the given platform variant')
    .allowExcessArguments(true);
  if (parseFlags(cmd, args) === 'help') return 0;
  if (cmd.args.length > 0) {
    throw new ArgCountError(cmd, 'accepts no arguments');
  }
  const o = cmd.opts<{ input?: string }>();
  if (o.input === undefined && process.stdin.isTTY) {
    ctx.err('requested load from stdin, but stdin is empty\n');
    return 1;
  }
  const input = o.input === undefined ? process.stdin : createReadStream(o.input);
  const opened = new Promise<void>((resolve, reject) => {
    if (o.input === undefined) return resolve();
    input.once('open', () => resolve());
    input.once('error', reject);
  });
  try {
    await opened;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    ctx.err(`open ${o.input}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}\n`);
    return 1;
  }
  return withDockerErrors(ctx, async () => {
    const store = await Store.open(ctx.root);
    try {
      for (const img of await loadArchive(store, input)) {
        for (const r of img.renamed) {
          ctx.out(
            `The image ${r.name} already exists, renaming the old one with ID ${r.oldId} to empty string\n`,
          );
        }
        if (img.names.length === 0) ctx.out(`Loaded image ID: ${img.id}\n`);
        for (const n of img.names) ctx.out(`Loaded image: ${n}\n`);
      }
      return 0;
    } finally {
      await store.close();
    }
  });
}

export const run: CommandRunner = (args, ctx) => runLoad(args, ctx);
