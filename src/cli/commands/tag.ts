import { SlipwayError } from '../../errors.js';
import { parseReference } from '../../image/reference.js';
import { withDockerErrors } from '../../images/cli-support.js';
import { Store } from '../../store/store.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

export async function runTag(
  args: string[],
  ctx: Parameters<CommandRunner>[1],
  verb = 'tag',
): Promise<number> {
  const cmd = dockerCommand(
    verb,
    'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
    'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  )
    .argument('[source]')
    .argument('[target]')
    .allowExcessArguments(true);
  if (parseFlags(cmd, args) === 'help') return 0;
  const [source, target] = requireArgs(cmd, 2, 'exactly') as [string, string];
  // docker/cli validates the target before asking the daemon about the source.
  try {
    parseReference(target);
  } catch (e) {
    ctx.err(`Error parsing reference: "${target}" is not a valid repository/tag: ${(e as Error).message}\n`);
    return 1;
  }
  if (parseReference(target).digest !== undefined) {
    ctx.err('Error response from daemon: refusing to create a tag with a digest reference\n');
    return 1;
  }
  return withDockerErrors(ctx, async () => {
    const store = await Store.open(ctx.root);
    let img: Awaited<ReturnType<Store['resolve']>>;
    try {
      img = await store.resolve(source);
    } catch (e) {
      if (e instanceof SlipwayError && e.code === 'INVALID_REFERENCE') {
        throw new SlipwayError('NOT_FOUND', `No such image: ${source}`);
      }
      throw e;
    }
    await store.tag(target, img.manifestDigest);
    return 0;
  });
}

export const run: CommandRunner = (args, ctx) => runTag(args, ctx);
