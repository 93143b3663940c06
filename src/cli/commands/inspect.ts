import { inspectContainer } from '../../containers/inspect.js';
import { GoTemplate } from '../../images/gotemplate.js';
import {
  extraInspectLookups,
  type InspectKind,
  inspectJson,
  inspectObjects,
  inspectTemplate,
} from '../../images/inspect.js';
import { Store } from '../../store/store.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

/** docker/cli inspect.Inspect: print what was found, then the errors; exit 1 if any name failed. */
export async function runInspect(
  args: string[],
  ctx: Parameters<CommandRunner>[1],
  verb = 'inspect',
  kind: InspectKind = 'any',
): Promise<number> {
  const cmd = (
    kind === 'image'
      ? dockerCommand(
          verb,
          '[OPTIONS] IMAGE [IMAGE...]',
          'Display detailed information on one or more images',
        )
      : dockerCommand(verb, '[OPTIONS] NAME|ID [NAME|ID...]', 'Return low-level information on objects')
  )
    .argument('[names...]')
    .option('-f, --format <string>', 'Format output using a custom template')
    .option('-s, --size', 'Display total file sizes')
    .option('--type <type>', 'Only inspect objects of the given type');
  if (parseFlags(cmd, args) === 'help') return 0;
  const names = requireArgs(cmd, 1, 'at least');
  const o = cmd.opts<{ format?: string; type?: string }>();
  let lookup = kind;
  if (o.type !== undefined) {
    if (o.type === 'image') lookup = 'image';
    else if (o.type === 'container') lookup = 'container';
    else {
      ctx.err(`"${o.type}" is not a valid value for --type\n`);
      return 1;
    }
  }
  const format = o.format ?? '';
  let tmpl: GoTemplate | undefined;
  if (format !== '' && format !== 'json') {
    try {
      tmpl = GoTemplate.parse(format);
    } catch (e) {
      ctx.err(`template parsing error: ${(e as Error).message}\n`);
      return 64;
    }
  }
  if (lookup !== 'image') extraInspectLookups.push((name) => inspectContainer(ctx.root, name));
  const store = await Store.open(ctx.root);
  const { objects, errors } = await inspectObjects(store, names, lookup);
  if (tmpl) {
    const r = inspectTemplate(tmpl, objects);
    ctx.out(r.out);
    // docker/cli reports template failures before the names it could not find.
    errors.unshift(...r.errors);
  } else ctx.out(inspectJson(objects));
  if (errors.length === 0) return 0;
  ctx.err(`${errors.join('\n')}\n`);
  return 1;
}

export const run: CommandRunner = (args, ctx) => runInspect(args, ctx);
