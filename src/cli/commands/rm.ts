import { daemonMessage } from '../../containers/cli-support.js';
import { removeContainer } from '../../containers/lifecycle.js';
import { ContainerStore } from '../../containers/store.js';
import { SlipwayError } from '../../errors.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand('rm', '[OPTIONS] CONTAINER [CONTAINER...]', 'Remove one or more containers')
    .argument('[containers...]')
    .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
    .option('-v, --volumes', 'Remove anonymous volumes associated with the container')
    .option('-l, --link', 'Remove the specified link');
  if (parseFlags(cmd, args) === 'help') return 0;
  requireArgs(cmd, 1);
  const o = cmd.opts<{ force?: boolean; volumes?: boolean; link?: boolean }>();
  if (o.link) throw new SlipwayError('UNSUPPORTED', 'rm --link is not supported');
  const cs = new ContainerStore(ctx.root);
  let failed = false;
  for (const ref of cmd.args) {
    try {
      await removeContainer(cs, ref, { force: o.force === true, volumes: o.volumes === true });
      ctx.out(`${ref}\n`);
    } catch (e) {
      const message = daemonMessage(e);
      ctx.err(`Error response from daemon: ${message}\n`);
      // Docker's rm -f of a missing container reports it but still succeeds.
      if (!(o.force && e instanceof SlipwayError && e.code === 'NOT_FOUND')) failed = true;
    }
  }
  return failed ? 1 : 0;
};
