import { withDockerErrors } from '../../images/cli-support.js';
import { parseFilterFlags } from '../../images/filters.js';
import { renderFormat } from '../../images/format.js';
import { IMAGE_HEADERS, imageFormat, imageRows, listImageEntries } from '../../images/list.js';
import { Store } from '../../store/store.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags, repeatable } from '../flags.js';
import { requireArgs } from '../usage-error.js';

/** `images` / `image ls`; `verb` is how usage errors name the command. */
export async function runImages(
  args: string[],
  ctx: Parameters<CommandRunner>[1],
  verb = 'images',
): Promise<number> {
  const cmd = dockerCommand(verb, '[OPTIONS] [REPOSITORY[:TAG]]', 'List images')
    .argument('[repository]')
    .allowExcessArguments(true)
    .option('-a, --all', 'Show all images (default hides intermediate images)')
    .option('--digests', 'Show digests')
    .addOption(repeatable('-f, --filter <filter>', 'Filter output based on conditions provided'))
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs');
  if (parseFlags(cmd, args) === 'help') return 0;
  const [repo] = requireArgs(cmd, 1, 'at most');
  const o = cmd.opts<{
    all?: boolean;
    digests?: boolean;
    filter: string[];
    format?: string;
    trunc: boolean;
    quiet?: boolean;
  }>();
  const filters = parseFilterFlags(o.filter, verb);
  if (repo !== undefined) filters.set('reference', [...(filters.get('reference') ?? []), repo]);
  return withDockerErrors(ctx, async () => {
    const store = await Store.open(ctx.root);
    const entries = await listImageEntries(store, { filters, all: o.all === true });
    const format = imageFormat(o.format ?? '', o.quiet === true, o.digests === true);
    const rows = imageRows(entries, { digests: o.digests === true, trunc: o.trunc });
    ctx.out(renderFormat({ format, rows, headers: IMAGE_HEADERS }));
    return 0;
  });
}

export const run: CommandRunner = (args, ctx) => runImages(args, ctx);
