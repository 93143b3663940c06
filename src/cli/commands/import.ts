import { createReadStream } from 'node:fs';
import { SlipwayError } from '../../errors.js';
import { importRootfs } from '../../images/import.js';
import { Store } from '../../store/store.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags, repeatable } from '../flags.js';
import { requireArgs } from '../usage-error.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand(
    'import',
    '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]',
    'Import the contents from a tarball to create a filesystem image',
  )
    .argument('[source]')
    .argument('[reference]')
    .addOption(repeatable('-c, --change <instruction>', 'Apply Dockerfile instruction to the created image'))
    .option('-m, --message <text>', 'Set commit message for imported image')
    .option('--platform <platform>', 'Set platform if server is multi-platform capable');
  if (parseFlags(cmd, args) === 'help') return 0;
  const [source, reference] = requireArgs(cmd, 1) as [string, string | undefined];
  if (/^https?:\/\//.test(source))
    throw new SlipwayError('UNSUPPORTED', 'import from a URL is not supported yet');
  const o = cmd.opts<{ change: string[]; message?: string }>();
  const store = await Store.open(ctx.root);
  try {
    const input = source === '-' ? process.stdin : createReadStream(source);
    input.on('error', () => {});
    const result = await importRootfs(store, input, {
      sourceName: source,
      changes: o.change,
      ...(o.message ? { message: o.message } : {}),
      ...(reference ? { tag: reference } : {}),
    }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT')
        throw new SlipwayError('NOT_FOUND', `open ${source}: no such file or directory`);
      throw e;
    });
    ctx.out(`${result.imageId}\n`);
    return 0;
  } finally {
    await store.close();
  }
};
