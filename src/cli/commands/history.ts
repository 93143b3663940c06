import { withDockerErrors } from '../../images/cli-support.js';
import { renderFormat } from '../../images/format.js';
import { HISTORY_HEADERS, historyFormat, historyRows, imageHistory } from '../../images/history.js';
import { Store } from '../../store/store.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

function parseBool(v: string): boolean {
  if (/^(1|t|T|TRUE|true|True)$/.test(v)) return true;
  if (/^(0|f|F|FALSE|false|False)$/.test(v)) return false;
  throw new Error(
    `invalid argument "${v}" for "-H, --human" flag: strconv.ParseBool: parsing "${v}": invalid syntax`,
  );
}

export async function runHistory(
  args: string[],
  ctx: Parameters<CommandRunner>[1],
  verb = 'history',
): Promise<number> {
  // `-H=false` is Go's bool-flag syntax; commander has no such form, so take it out before parsing.
  let human = true;
  const rest: string[] = [];
  for (const a of args) {
    const m = /^(?:-H|--human)=(.*)$/.exec(a);
    if (m) human = parseBool(m[1]!);
    else if (a === '-H' || a === '--human') human = true;
    else rest.push(a);
  }
  const cmd = dockerCommand(verb, '[OPTIONS] IMAGE', 'Show the history of an image')
    .argument('[image]')
    .allowExcessArguments(true)
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs')
    .option('--platform <platform>', 'Show history for the given platform');
  if (parseFlags(cmd, rest) === 'help') return 0;
  const [image] = requireArgs(cmd, 1, 'exactly') as [string];
  const o = cmd.opts<{ format?: string; trunc: boolean; quiet?: boolean }>();
  return withDockerErrors(ctx, async () => {
    const store = await Store.open(ctx.root);
    const items = await imageHistory(store, image);
    const rows = historyRows(items, { human, trunc: o.trunc });
    ctx.out(
      renderFormat({
        format: historyFormat(o.format ?? '', o.quiet === true, human),
        rows,
        headers: HISTORY_HEADERS,
      }),
    );
    return 0;
  });
}

export const run: CommandRunner = (args, ctx) => runHistory(args, ctx);
