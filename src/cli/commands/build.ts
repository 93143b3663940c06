import { rm, writeFile } from 'node:fs/promises';
import { Option } from 'commander';
import { build } from '../../build/engine.js';
import { parseAddHostFlag, parseOutputFlag, parseSecretFlag } from '../../build/flags.js';
import { contextFromStdin, dockerfileFromStdin } from '../../build/stdin-context.js';
import { SlipwayError } from '../../errors.js';
import { normalizeReference } from '../../image/reference.js';
import { ProgressReporter } from '../../progress/events.js';
import { createRenderer, isProgressMode } from '../../progress/index.js';
import { Store } from '../../store/store.js';
import type { CommandRunner } from '../context.js';
import { goFileError } from '../file-error.js';
import { dockerCommand, keyValues, parseFlags, repeatable } from '../flags.js';
import { ArgCountError } from '../usage-error.js';
import {
  addIgnoredBuildFlags,
  checkIgnoredBuildFlags,
  checkProgressFlag,
  checkSshFlag,
  dropIgnoredBoolValues,
  type IgnoredBuildFlags,
  parseNetworkFlag,
} from './build-flags.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand('build', '[OPTIONS] PATH', 'Build an image from a Dockerfile')
    .argument('[path]')
    .addOption(repeatable('-t, --tag <name>', 'Name and optionally a tag (format: "name:tag")'))
    .option('-f, --file <path>', 'Name of the Dockerfile (default: "PATH/Dockerfile")')
    .addOption(repeatable('--build-arg <arg>', 'Set build-time variables'))
    .option('--target <stage>', 'Set the target build stage to build')
    .option('--no-cache', 'Do not use cache when building the image')
    .addOption(repeatable('--label <label>', 'Set metadata for an image'))
    .option('--iidfile <file>', 'Write the image ID to the file')
    .option('-q, --quiet', 'Suppress the build output and print image ID on success')
    .option('--platform <platform>', 'Set target platform for build')
    .addOption(
      new Option(
        '--progress <type>',
        'Set type of progress output (auto, plain, tty, quiet, rawjson)',
      ).default('auto'),
    )
    .option('--runtime <name>', 'OCI runtime for RUN steps (runc, crun, or a path)')
    .addOption(repeatable('-o, --output <spec>', 'Output destination (format: "type=local,dest=path")'))
    .addOption(repeatable('--secret <spec>', 'Secret to expose to the build'))
    .addOption(
      repeatable(
        '--cache-from <spec>',
        'External cache sources (e.g. "type=registry,ref=<ref>", "type=local,src=<dir>")',
      ),
    )
    .addOption(
      repeatable(
        '--cache-to <spec>',
        'Cache export destinations (e.g. "type=registry,ref=<ref>", "type=local,dest=<dir>")',
      ),
    )
    .option('--pull', 'Always attempt to pull all referenced images')
    .option('--push', 'Shorthand for "--output=type=registry"')
    .addOption(
      new Option('--network <mode>', 'Set the networking mode for the RUN instructions during build').default(
        'default',
      ),
    )
    .addOption(repeatable('--ssh <spec>', 'SSH agent socket to expose to the build (format: default)'))
    .addOption(repeatable('--add-host <host:ip>', 'Add a custom host-to-IP mapping (host:ip)'));
  addIgnoredBuildFlags(cmd);
  if (parseFlags(cmd, dropIgnoredBoolValues(args)) === 'help') return 0;
  const o = cmd.opts<
    IgnoredBuildFlags & {
      tag: string[];
      file?: string;
      buildArg: string[];
      target?: string;
      cache: boolean;
      label: string[];
      iidfile?: string;
      quiet?: boolean;
      platform?: string;
      progress: string;
      runtime?: string;
      output: string[];
      secret: string[];
      pull?: boolean;
      push?: boolean;
      cacheFrom: string[];
      cacheTo: string[];
      network: string;
      addHost: string[];
      ssh: string[];
    }
  >();
  checkIgnoredBuildFlags(o);
  checkProgressFlag(o.progress);
  checkSshFlag(o.ssh);
  const network = parseNetworkFlag(o.network);
  const extraHosts = o.addHost.map((h) => {
    try {
      return parseAddHostFlag(h);
    } catch (e) {
      throw new SlipwayError(
        'USAGE',
        `invalid argument "${h}" for "--add-host" flag: ${(e as Error).message}`,
        {
          hint: "See 'slipway build --help'.",
        },
      );
    }
  });
  const path = cmd.args[0];
  if (path === undefined) {
    throw new ArgCountError(cmd, 'requires exactly 1 argument');
  }
  if (/^(https?|git):\/\//.test(path) || path.startsWith('git@')) {
    throw new SlipwayError(
      'UNSUPPORTED',
      `build context "${path}" is not supported yet: use a local directory`,
    );
  }
  if (o.platform !== undefined && !isHostPlatform(o.platform)) {
    throw new SlipwayError(
      'UNSUPPORTED',
      `platform "${o.platform}" is not supported: slipway builds for the host platform only (${hostPlatformString()})`,
    );
  }
  if (o.output.length > 1)
    throw new SlipwayError('UNSUPPORTED', 'several --output destinations are not supported yet');
  const output = o.output[0] === undefined ? undefined : parseOutputFlag(o.output[0]);
  const tags = [...o.tag, ...(output && 'names' in output ? (output.names ?? []) : [])];
  // A bad tag fails before the build, not after it, as docker's flag parsing does.
  for (const tag of tags) {
    try {
      normalizeReference(tag);
    } catch (e) {
      throw new SlipwayError(
        'USAGE',
        `invalid argument "${tag}" for ${o.tag.includes(tag) ? '"-t, --tag" flag' : '"-o, --output" name='}: ${(e as Error).message}`,
        {
          hint: "See 'slipway build --help'.",
        },
      );
    }
  }
  const mode = o.quiet ? 'quiet' : o.progress;
  if (!isProgressMode(mode)) throw new SlipwayError('USAGE', `invalid progress mode "${o.progress}"`);
  const stdinContext = path === '-' ? await contextFromStdin(process.stdin, o.file) : undefined;
  const source: { contextDir: string; dockerfile?: string; dockerfileText?: string } = stdinContext ?? {
    contextDir: path,
  };
  if (!stdinContext && o.file === '-') source.dockerfileText = await dockerfileFromStdin(process.stdin);
  else if (!stdinContext && o.file) source.dockerfile = o.file;
  // As docker: a failed build leaves no image ID file behind, not the one of an earlier build.
  if (o.iidfile) await rm(o.iidfile, { force: true });
  const sink = createRenderer(mode);
  const progress = new ProgressReporter(sink);
  const epoch = process.env.SOURCE_DATE_EPOCH;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let ok = false;
  try {
    const result = await build({
      root: ctx.root,
      contextDir: source.contextDir,
      ...(source.dockerfile !== undefined ? { dockerfile: source.dockerfile } : {}),
      ...(source.dockerfileText !== undefined ? { dockerfileText: source.dockerfileText } : {}),
      ...(stdinContext ? { contextDigestCache: stdinContext.digestCache } : {}),
      tags,
      buildArgs: keyValues(o.buildArg, true),
      ...(o.target ? { target: o.target } : {}),
      noCache: !o.cache,
      labels: keyValues(o.label, false),
      ...(epoch !== undefined && epoch !== '' ? { sourceDateEpoch: parseEpoch(epoch) } : {}),
      ...(o.runtime ? { runtime: o.runtime } : {}),
      secrets: o.secret.map(parseSecretFlag),
      network,
      extraHosts,
      ...(output ? { output } : {}),
      pull: o.pull === true,
      ...(o.cacheFrom.length || o.cacheTo.length ? await cacheSpecs(o.cacheFrom, o.cacheTo) : {}),
      progress,
      signal: controller.signal,
    });
    if (o.push) {
      if (o.tag.length === 0)
        throw new SlipwayError('USAGE', 'build --push needs at least one -t name to push to');
      const { pushImage } = await import('../../registry/index.js');
      for (const tag of o.tag) {
        const v = progress.start(`pushing ${tag}`);
        try {
          const store = await Store.open(ctx.root);
          try {
            await pushImage(store, tag, { onProgress: (line) => v.status(line), signal: controller.signal });
          } finally {
            await store.close();
          }
          v.done();
        } catch (e) {
          v.fail((e as Error).message);
          throw e;
        }
      }
    }
    ok = true;
    progress.close(true);
    if (o.iidfile) {
      await writeFile(o.iidfile, result.imageId).catch((e: NodeJS.ErrnoException) => {
        throw new SlipwayError('BUILD', `cannot write image ID file: ${goFileError(e)}`);
      });
    }
    if (o.quiet) ctx.out(`${result.imageId}\n`);
    return 0;
  } finally {
    if (!ok) progress.close(false);
    await stdinContext?.dispose();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
};

async function cacheSpecs(from: string[], to: string[]) {
  const { parseCacheFlag } = await import('../../build/cache-transfer.js');
  return {
    cacheFrom: from.map((c) => parseCacheFlag(c, 'from')),
    cacheTo: to.map((c) => parseCacheFlag(c, 'to')),
  };
}

function parseEpoch(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new SlipwayError('USAGE', `invalid SOURCE_DATE_EPOCH: ${text}`);
  return n;
}

function hostPlatformString(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : process.arch;
  return `linux/${arch}`;
}

function isHostPlatform(p: string): boolean {
  return p.split(',').every((one) => one.trim() === hostPlatformString() || one.trim() === 'local');
}
