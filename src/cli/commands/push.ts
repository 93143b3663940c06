import { formatReference, parseDockerRef, repositoryName } from '../../image/reference.js';
import {
  parseCliReference,
  parseTlsVerify,
  refuseTagWithAllTags,
  registryFailure,
  withInterrupt,
} from '../../registry/cli-support.js';
import { pushImage } from '../../registry/push.js';
import { Store } from '../../store/store.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand('push', '[OPTIONS] NAME[:TAG]', 'Upload an image to a registry')
    .argument('[name]')
    .option('-a, --all-tags', 'Push all tags of an image to the repository')
    .option('-q, --quiet', 'Suppress verbose output')
    .option('--platform <platform>', 'Push a platform-specific manifest (single-platform images only)')
    .option('--tls-verify [bool]', 'Require HTTPS and verify certificates (default true)')
    .allowExcessArguments(true);
  if (parseFlags(cmd, args) === 'help') return 0;
  const [name] = requireArgs(cmd, 1, 'exactly') as [string];
  const o = cmd.opts<{ allTags?: boolean; quiet?: boolean; tlsVerify?: string | boolean }>();
  const tlsVerify = parseTlsVerify(o.tlsVerify);
  const given = parseCliReference(ctx, name);
  if (!given) return 1;
  if (refuseTagWithAllTags(ctx, o.allTags, given)) return 1;
  const say = (line: string) => {
    if (!o.quiet) ctx.out(`${line}\n`);
  };
  const store = await Store.open(ctx.root);
  try {
    let refs: string[];
    if (o.allTags) {
      const repo = repositoryName(parseDockerRef(name));
      refs = (await store.listImages())
        .flatMap((img) => img.names)
        .filter((n) => n.startsWith(`${repo}:`))
        .sort();
      if (refs.length === 0) {
        say(`The push refers to repository [${repo}]`);
        ctx.err(`An image does not exist locally with the tag: ${name}\n`);
        return 1;
      }
    } else {
      if (given.tag === undefined && given.digest === undefined) say('Using default tag: latest');
      refs = [formatReference(parseDockerRef(name))];
    }
    return await withInterrupt(async (signal) => {
      try {
        for (const ref of refs) {
          const result = await pushImage(store, ref, {
            signal,
            onProgress: say,
            ...(tlsVerify === undefined ? {} : { tlsVerify }),
          });
          if (o.quiet) ctx.out(`${result.reference}\n`);
        }
        return 0;
      } catch (e) {
        return registryFailure(ctx, e, '');
      }
    });
  } finally {
    await store.close();
  }
};
