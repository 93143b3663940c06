import { statSync } from 'node:fs';
import { attachForeground, daemonMessage } from '../../containers/cli-support.js';
import { isRunning, resolveContainer, startContainer } from '../../containers/lifecycle.js';
import { clientTerminalSize, refuseTerminalInput } from '../../containers/pty.js';
import { ContainerStore } from '../../containers/store.js';
import { SlipwayError } from '../../errors.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand(
    'start',
    '[OPTIONS] CONTAINER [CONTAINER...]',
    'Start one or more stopped containers',
  )
    .argument('[containers...]')
    .option('-a, --attach', 'Attach STDOUT/STDERR and forward signals')
    .option('-i, --interactive', "Attach container's STDIN");
  if (parseFlags(cmd, args) === 'help') return 0;
  requireArgs(cmd, 1);
  const o = cmd.opts<{ attach?: boolean; interactive?: boolean }>();
  const attach = o.attach === true || o.interactive === true;
  if (attach && cmd.args.length > 1) {
    throw new SlipwayError('USAGE', 'you cannot start and attach multiple containers at once');
  }
  const cs = new ContainerStore(ctx.root);
  const failed: string[] = [];
  for (const ref of cmd.args) {
    try {
      const rec = await resolveContainer(cs, ref);
      if (isRunning(rec)) {
        if (!attach) ctx.out(`${ref}\n`);
        continue;
      }
      const stdinFromUs = o.interactive === true && rec.config.openStdin;
      const tty = rec.config.tty === true;
      if (attach && refuseTerminalInput(ctx, tty, stdinFromUs)) return 1;
      const logFrom = attach ? logSize(cs.paths(rec.id).log) : 0;
      await startContainer(cs, rec, {
        attached: attach,
        stdinFromUs,
        ...(tty && attach ? { terminalSize: clientTerminalSize() } : {}),
      });
      if (attach) return attachForeground(ctx, cs, rec.id, rec.hostConfig.autoRemove, stdinFromUs, logFrom);
      ctx.out(`${ref}\n`);
    } catch (e) {
      ctx.err(`Error response from daemon: ${daemonMessage(e)}\n`);
      failed.push(ref);
    }
  }
  if (failed.length) {
    ctx.err(`Error: failed to start containers: ${failed.join(', ')}\n`);
    return 1;
  }
  return 0;
};

function logSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
