import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags, repeatable } from '../flags.js';
import { groupFallback } from '../group.js';

const USAGE = `Usage:  slipway image COMMAND

Manage images

Commands:
  build       Build an image from a Dockerfile
  history     Show the history of an image
  import      Import the contents from a tarball to create a filesystem image
  inspect     Display detailed information on one or more images
  load        Load an image from a tar archive or STDIN
  ls          List images
  prune       Remove unused images
  pull        Download an image from a registry
  push        Upload an image to a registry
  rm          Remove one or more images
  save        Save one or more images to a tar archive (streamed to STDOUT by default)
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE

Run 'slipway image COMMAND --help' for more information on a command.
`;

/** Docker's confirmation prompt: anything but y/yes (any case) declines. */
async function confirm(ctx: Parameters<CommandRunner>[1], message: string): Promise<boolean> {
  ctx.out(`${message}\nAre you sure you want to continue? [y/N] `);
  const line = await new Promise<string>((resolve) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      if (buf.includes('\n')) finish();
    };
    const finish = () => {
      process.stdin.off('data', onData);
      process.stdin.off('end', finish);
      process.stdin.pause();
      resolve(buf.split('\n')[0] ?? '');
    };
    process.stdin.on('data', onData);
    process.stdin.on('end', finish);
  });
  return /^(y|yes)$/i.test(line.trim());
}

async function runPrune(args: string[], ctx: Parameters<CommandRunner>[1]): Promise<number> {
  const cmd = dockerCommand('image prune', '[OPTIONS]', 'Remove unused images')
    .option('-a, --all', 'Remove all unused images, not just dangling ones')
    .addOption(repeatable('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")'))
    .option('-f, --force', 'Do not prompt for confirmation');
  if (parseFlags(cmd, args) === 'help') return 0;
  const o = cmd.opts<{ all?: boolean; filter: string[]; force?: boolean }>();
  const [
    { parseFilterFlags },
    { pruneImages },
    { openStoreForRemoval },
    { humanSize },
    { withDockerErrors },
  ] = await Promise.all([
    import('../../images/filters.js'),
    import('../../images/remove.js'),
    import('../../images/cache-roots.js'),
    import('../../images/humanize.js'),
    import('../../images/cli-support.js'),
  ]);
  const filters = parseFilterFlags(o.filter, 'image prune', '--filter');
  const warning = o.all
    ? 'WARNING! This will remove all images without at least one container associated to them.'
    : 'WARNING! This will remove all dangling images.';
  if (!o.force && !(await confirm(ctx, warning))) {
    ctx.out('Total reclaimed space: 0B\n');
    return 0;
  }
  return withDockerErrors(ctx, async () => {
    const store = await openStoreForRemoval(ctx.root);
    try {
      const { records, reclaimed } = await pruneImages(store, { all: o.all === true, filters });
      if (records.length > 0) {
        let text = 'Deleted Images:\n';
        for (const r of records)
          text += 'untagged' in r ? `untagged: ${r.untagged}\n` : `deleted: ${r.deleted}\n`;
        ctx.out(`${text}\n`);
      }
      ctx.out(`Total reclaimed space: ${humanSize(reclaimed)}\n`);
      return 0;
    } finally {
      await store.close();
    }
  });
}

export const run: CommandRunner = async (args, ctx) => {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'ls':
    case 'list':
      return (await import('./images.js')).runImages(rest, ctx, 'image ls');
    case 'rm':
    case 'remove':
      return (await import('./rmi.js')).runRmi(rest, ctx, 'image rm');
    case 'inspect':
      return (await import('./inspect.js')).runInspect(rest, ctx, 'image inspect', 'image');
    case 'history':
      return (await import('./history.js')).runHistory(rest, ctx, 'image history');
    case 'tag':
      return (await import('./tag.js')).runTag(rest, ctx, 'image tag');
    case 'save':
      return (await import('./save.js')).runSave(rest, ctx, 'image save');
    case 'load':
      return (await import('./load.js')).runLoad(rest, ctx, 'image load');
    case 'prune':
      return runPrune(rest, ctx);
    case 'import':
      return (await import('./import.js')).run(rest, ctx);
    case 'build':
      return (await import('./build.js')).run(rest, ctx);
    case 'pull':
      return (await import('./pull.js')).run(rest, ctx);
    case 'push':
      return (await import('./push.js')).run(rest, ctx);
    default:
      return groupFallback('image', USAGE, sub, [], ctx);
  }
};
