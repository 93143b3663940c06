import { forEachContainer, requireArgs } from '../../containers/cli-support.js';
import { resolveContainer, startContainer, stopContainer } from '../../containers/lifecycle.js';
import { ContainerStore } from '../../containers/store.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { parseTimeout } from './stop.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand('restart', '[OPTIONS] CONTAINER [CONTAINER...]', 'Restart one or more containers')
    .argument('[containers...]')
    .option('-t, --timeout <seconds>', 'Seconds to wait before killing the container')
    .option('-s, --signal <signal>', 'Signal to send to the container');
  if (parseFlags(cmd, args) === 'help') return 0;
  requireArgs('restart', cmd.args, 1);
  const o = cmd.opts<{ timeout?: string; signal?: string }>();
  const timeout = parseTimeout(o.timeout);
  const cs = new ContainerStore(ctx.root);
  return forEachContainer(ctx, cmd.args, async (ref) => {
    const rec = await resolveContainer(cs, ref);
    if (o.signal !== undefined) rec.config.stopSignal = o.signal;
    await stopContainer(cs, rec, timeout);
    const stopped = await resolveContainer(cs, rec.id);
    await startContainer(cs, stopped, { attached: false, stdinFromUs: false });
  });
};
