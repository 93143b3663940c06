import { forEachContainer } from '../../containers/cli-support.js';
import { killContainer } from '../../containers/lifecycle.js';
import { signalNumber } from '../../containers/options.js';
import { ContainerStore } from '../../containers/store.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand(
    'kill',
    '[OPTIONS] CONTAINER [CONTAINER...]',
    'Kill one or more running containers',
  )
    .argument('[containers...]')
    .option('-s, --signal <signal>', 'Signal to send to the container', 'KILL');
  if (parseFlags(cmd, args) === 'help') return 0;
  requireArgs(cmd, 1);
  const o = cmd.opts<{ signal: string }>();
  signalNumber(o.signal);
  const cs = new ContainerStore(ctx.root);
  return forEachContainer(ctx, cmd.args, async (ref) => {
    await killContainer(cs, ref, o.signal);
  });
};
