import { imageUsers as containerImageUsers } from '../../containers/images-in-use.js';
import { openStoreForRemoval } from '../../images/cache-roots.js';
import { dockerErrorLine } from '../../images/cli-support.js';
import { imageUsers, removeImage } from '../../images/remove.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

/** `rmi` / `image rm`: Docker prints each image's records as it goes and the errors at the end. */
export async function runRmi(
  args: string[],
  ctx: Parameters<CommandRunner>[1],
  verb = 'rmi',
): Promise<number> {
  const cmd = dockerCommand(verb, '[OPTIONS] IMAGE [IMAGE...]', 'Remove one or more images')
    .argument('[images...]')
    .option('-f, --force', 'Force removal of the image')
    .option('--no-prune', 'Do not delete untagged parents');
  if (parseFlags(cmd, args) === 'help') return 0;
  const images = requireArgs(cmd, 1, 'at least');
  const force = cmd.opts<{ force?: boolean }>().force === true;
  imageUsers.check = (imageId) => containerImageUsers(ctx.root, imageId);
  const store = await openStoreForRemoval(ctx.root);
  const errors: string[] = [];
  let fatal = false;
  let removed = false;
  try {
    for (const name of images) {
      try {
        for (const r of await removeImage(store, name, force)) {
          if ('deleted' in r) {
            removed = true;
            ctx.out(`Deleted: ${r.deleted}\n`);
          } else ctx.out(`Untagged: ${r.untagged}\n`);
        }
      } catch (e) {
        const line = dockerErrorLine(e) ?? `Error response from daemon: ${(e as Error).message}`;
        if (!line.includes('No such image')) fatal = true;
        errors.push(line);
      }
    }
    if (removed) await store.gc();
  } finally {
    await store.close();
  }
  if (errors.length === 0) return 0;
  ctx.err(`${errors.join('\n')}\n`);
  return !force || fatal ? 1 : 0;
}

export const run: CommandRunner = (args, ctx) => runRmi(args, ctx);
