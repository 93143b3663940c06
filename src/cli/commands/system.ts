import { SlipwayError } from '../../errors.js';
import type { CommandRunner } from '../context.js';
import { groupFallback } from '../group.js';
import { dockerCommand, parseFlags } from '../flags.js';

const USAGE = `Usage:  slipway system COMMAND

Manage slipway

Commands:
  df          Show slipway disk usage

Run 'slipway system COMMAND --help' for more information on a command.
`;

async function runDf(args: string[], ctx: Parameters<CommandRunner>[1]): Promise<number> {
  const cmd = dockerCommand('system df', '[OPTIONS]', 'Show slipway disk usage')
    .option('--format <string>', 'Format output using a custom template')
    .option('-v, --verbose', 'Show detailed information on space usage');
  if (parseFlags(cmd, args) === 'help') return 0;
  const o = cmd.opts<{ format?: string; verbose?: boolean }>();
  if (o.verbose) throw new SlipwayError('UNSUPPORTED', "'slipway system df --verbose' is not supported yet");
  const [{ Store }, df, { renderFormat }, { withDockerErrors }] = await Promise.all([
    import('../../store/store.js'),
    import('../../images/df.js'),
    import('../../images/format.js'),
    import('../../images/cli-support.js'),
  ]);
  return withDockerErrors(ctx, async () => {
    const store = await Store.open(ctx.root);
    const rows = df.diskUsageRows(await df.diskUsage(store));
    const format =
      o.format === undefined || o.format === '' || o.format === 'table' ? df.DEFAULT_DF_TABLE : o.format;
    ctx.out(renderFormat({ format, rows, headers: df.DF_HEADERS }));
    return 0;
  });
}

export const run: CommandRunner = async (args, ctx) => {
  const [sub, ...rest] = args;
  if (sub === 'df') return runDf(rest, ctx);
  return groupFallback('system', USAGE, sub, ['events', 'info', 'prune'], ctx);
};
