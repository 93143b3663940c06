import { forEachContainer } from '../../containers/cli-support.js';
import { resolveContainer, stopContainer } from '../../containers/lifecycle.js';
import type { ContainerRecord } from '../../containers/record.js';
import { ContainerStore } from '../../containers/store.js';
import { SlipwayError } from '../../errors.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

/** `-t N` as Docker reads it: an integer, -1 meaning wait forever. */
function parseTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n))
    throw new SlipwayError(
      'USAGE',
      `invalid argument "${text}" for "-t, --timeout" flag: strconv.ParseInt: parsing "${text}": invalid syntax`,
    );
  return n;
}

/**
 * `stop` and `restart` take the same flags and stop each container the same way (StopSignal or
 * `-s`, then SIGKILL after `-t`); `restart` then starts it again (`afterStop`).
 */
export function stopRunner(
  verb: 'stop' | 'restart',
  description: string,
  afterStop?: (cs: ContainerStore, rec: ContainerRecord) => Promise<void>,
): CommandRunner {
  return async (args, ctx) => {
    const cmd = dockerCommand(verb, '[OPTIONS] CONTAINER [CONTAINER...]', description)
      .argument('[containers...]')
      .option('-t, --timeout <seconds>', 'Seconds to wait before killing the container')
      .option('-s, --signal <signal>', 'Signal to send to the container');
    if (parseFlags(cmd, args) === 'help') return 0;
    requireArgs(cmd, 1);
    const o = cmd.opts<{ timeout?: string; signal?: string }>();
    const timeout = parseTimeout(o.timeout);
    const cs = new ContainerStore(ctx.root);
    return forEachContainer(ctx, cmd.args, async (ref) => {
      const rec = await resolveContainer(cs, ref);
      if (o.signal !== undefined) rec.config.stopSignal = o.signal;
      await stopContainer(cs, rec, timeout);
      await afterStop?.(cs, rec);
    });
  };
}

export const run = stopRunner('stop', 'Stop one or more running containers');
