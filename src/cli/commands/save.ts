import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SlipwayError } from '../../errors.js';
import { withDockerErrors } from '../../images/cli-support.js';
import { type SaveFormat, saveImages } from '../../images/save.js';
import { isProcessAlive } from '../../store/fsutil.js';
import { Store } from '../../store/store.js';
import type { CommandRunner } from '../context.js';
import { goFileError } from '../file-error.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

/**
 * A save killed mid-write leaves its `.<name>.<pid>.tmp` beside the target (the target itself is
 * never torn): the next save to that target removes those whose writer is gone.
 */
async function removeDeadSaveTemps(output: string): Promise<void> {
  const prefix = `.${basename(output)}.`;
  const names = await readdir(dirname(output)).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)\.tmp$/.exec(name.slice(prefix.length));
    if (m && !isProcessAlive(Number(m[1]))) await rm(join(dirname(output), name), { force: true });
  }
}

export async function runSave(
  args: string[],
  ctx: Parameters<CommandRunner>[1],
  verb = 'save',
): Promise<number> {
  const cmd = dockerCommand(
    verb,
    '[OPTIONS] IMAGE [IMAGE...]',
    'Save one or more images to a tar archive (streamed to STDOUT by default)',
  )
    .argument('[images...]')
    .option('-o, --output <file>', 'Write to a file, instead of STDOUT')
    .option('--format <format>', 'Archive format: docker (docker-archive with OCI layout, default) or oci')
    .option('--platform <platform>', 'Save only the given platform variant');
  if (parseFlags(cmd, args) === 'help') return 0;
  const images = requireArgs(cmd, 1, 'at least');
  const o = cmd.opts<{ output?: string; format?: string }>();
  const fmt = o.format ?? 'docker';
  if (fmt !== 'docker' && fmt !== 'oci' && fmt !== 'docker-archive' && fmt !== 'oci-archive') {
    throw new SlipwayError('USAGE', `invalid --format "${fmt}": want docker or oci`);
  }
  const format: SaveFormat = fmt.startsWith('oci') ? 'oci' : 'docker';
  if (o.output === undefined && process.stdout.isTTY) {
    ctx.err('cowardly refusing to save to a terminal. Use the -o flag or redirect\n');
    return 1;
  }
  if (o.output !== undefined) {
    // docker/cli's ValidateOutputPath runs before the daemon is asked about any image.
    const dir = dirname(o.output);
    const dirExists = await stat(dir).then(
      () => true,
      () => false,
    );
    if (!dirExists) {
      ctx.err(`failed to save image: invalid output path: directory "${dir}" does not exist\n`);
      return 1;
    }
  }
  return withDockerErrors(ctx, async () => {
    const store = await Store.open(ctx.root);
    try {
      if (o.output === undefined) {
        await saveImages(store, images, process.stdout, format);
        return 0;
      }
      // Like docker/cli's CopyToFile: a temp file beside the target, renamed when complete.
      const tmp = join(dirname(o.output), `.${basename(o.output)}.${process.pid}.tmp`);
      await removeDeadSaveTemps(o.output);
      // Opened before saving starts, so a directory we cannot write to is an error here rather
      // than an unhandled 'error' event on a stream nobody listens to yet.
      let file: Awaited<ReturnType<typeof open>>;
      try {
        file = await open(tmp, 'w');
      } catch (e) {
        ctx.err(`${goFileError(e as NodeJS.ErrnoException)}\n`);
        return 1;
      }
      const stream = file.createWriteStream();
      try {
        await saveImages(store, images, stream, format);
        await rename(tmp, o.output);
      } catch (e) {
        stream.destroy();
        await rm(tmp, { force: true });
        throw e;
      }
      return 0;
    } finally {
      await store.close();
    }
  });
}

export const run: CommandRunner = (args, ctx) => runSave(args, ctx);
