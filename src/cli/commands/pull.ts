import { parseDockerRef, repositoryName } from '../../image/reference.js';
import {
  parseCliReference,
  parseTlsVerify,
  refuseTagWithAllTags,
  registryFailure,
  withInterrupt,
} from '../../registry/cli-support.js';
import { pullAllTags, pullImage } from '../../registry/pull.js';
import { Store } from '../../store/store.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand('pull', '[OPTIONS] NAME[:TAG|@DIGEST]', 'Download an image from a registry')
    .argument('[name]')
    .option('-a, --all-tags', 'Download all tagged images in the repository')
    .option('--platform <platform>', 'Set platform if server is multi-platform capable')
    .option('-q, --quiet', 'Suppress verbose output')
    .option('--tls-verify [bool]', 'Require HTTPS and verify certificates (default true)')
    .allowExcessArguments(true);
  if (parseFlags(cmd, args) === 'help') return 0;
  const [name] = requireArgs(cmd, 1, 'exactly') as [string];
  const o = cmd.opts<{
    allTags?: boolean;
    platform?: string;
    quiet?: boolean;
    tlsVerify?: string | boolean;
  }>();
  const given = parseCliReference(ctx, name);
  if (!given) return 1;
  if (refuseTagWithAllTags(ctx, o.allTags, given)) return 1;
  const tlsVerify = parseTlsVerify(o.tlsVerify);
  const say = (line: string) => {
    if (!o.quiet) ctx.out(`${line}\n`);
  };
  if (!o.allTags && given.tag === undefined && given.digest === undefined) say('Using default tag: latest');
  const store = await Store.open(ctx.root);
  try {
    return await withInterrupt(async (signal) => {
      try {
        const pullOpts = {
          signal,
          onProgress: say,
          ...(o.platform ? { platform: o.platform } : {}),
          ...(tlsVerify === undefined ? {} : { tlsVerify }),
        };
        if (o.allTags) {
          await pullAllTags(store, name, pullOpts);
          ctx.out(`${repositoryName(parseDockerRef(name))}\n`);
          return 0;
        }
        const result = await pullImage(store, name, pullOpts);
        ctx.out(`${result.reference}\n`);
        return 0;
      } catch (e) {
        return registryFailure(ctx, e, 'Error response from daemon: ');
      }
    });
  } finally {
    await store.close();
  }
};
