import { listContainers } from '../../containers/lifecycle.js';
import { renderPs } from '../../containers/list.js';
import { ContainerStore } from '../../containers/store.js';
import { SlipwayError } from '../../errors.js';
import { withDockerErrors } from '../../images/cli-support.js';
import { parseFilterFlags } from '../../images/filters.js';
import { TemplateError } from '../../images/format.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags, repeatable } from '../flags.js';
import { ArgCountError } from '../usage-error.js';

/** `ps` / `container ls`: `verb` only changes the usage text. */
export function psRunner(verb: string): CommandRunner {
  return async (args, ctx) => {
    const cmd = dockerCommand(verb, '[OPTIONS]', 'List containers')
      .allowExcessArguments(true)
      .option('-a, --all', 'Show all containers (default shows just running)')
      .option('-q, --quiet', 'Only display container IDs')
      .option('--no-trunc', "Don't truncate output")
      .option('--format <format>', 'Format output using a custom template')
      .addOption(repeatable('-f, --filter <filter>', 'Filter output based on conditions provided'))
      .option('-n, --last <n>', 'Show n last created containers (includes all states)')
      .option('-l, --latest', 'Show the latest created container (includes all states)')
      .option('-s, --size', 'Display total file sizes');
    if (parseFlags(cmd, args) === 'help') return 0;
    if (cmd.args.length > 0) {
      throw new ArgCountError(cmd, 'accepts no arguments');
    }
    const o = cmd.opts<{
      all?: boolean;
      quiet?: boolean;
      trunc: boolean;
      format?: string;
      filter: string[];
      last?: string;
      latest?: boolean;
    }>();
    let last: number | undefined;
    if (o.last !== undefined) {
      last = Number(o.last);
      if (!Number.isInteger(last))
        throw new SlipwayError('USAGE', `invalid argument "${o.last}" for "-n, --last" flag`);
      // The daemon ignores a limit that is not positive: `-n 0` lists what plain `ps` lists.
      if (last <= 0) last = undefined;
    }
    // docker/cli's -l only applies while -n is unset (-1): `-l -n 3` shows three.
    if (o.latest && (o.last === undefined || Number(o.last) === -1)) last = 1;
    parseFilterFlags(o.filter, verb);
    const cs = new ContainerStore(ctx.root);
    const records = await listContainers(cs);
    let text: string;
    try {
      text = renderPs(records, {
        all: o.all === true,
        quiet: o.quiet === true,
        noTrunc: !o.trunc,
        filters: o.filter,
        ...(o.format !== undefined ? { format: o.format } : {}),
        ...(last !== undefined ? { last } : {}),
      });
    } catch (e) {
      // docker/cli's ps words template errors apart from images' "template parsing error".
      if (e instanceof TemplateError) {
        ctx.err(`failed to ${e.phase} template: ${e.goMessage}\n`);
        return 1;
      }
      return withDockerErrors(ctx, () => Promise.reject(e));
    }
    ctx.out(text);
    return 0;
  };
}

export const run: CommandRunner = psRunner('ps');
