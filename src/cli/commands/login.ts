import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { SlipwayError } from '../../errors.js';
import { parseTlsVerify, registryFailure } from '../../registry/cli-support.js';
import { CredentialStore, credentialKey } from '../../registry/credentials.js';
import { checkCredentials, login } from '../../registry/login.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { requireArgs } from '../usage-error.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand(
    'login',
    '[OPTIONS] [SERVER]',
    'Log in to a registry.\nIf no server is specified, the default is defined by the daemon.',
  )
    .argument('[server]')
    .option('-u, --username <username>', 'Username')
    .option('-p, --password <password>', 'Password')
    .option('--password-stdin', 'Take the password from stdin')
    .option('--tls-verify [bool]', 'Require HTTPS and verify certificates (default true)')
    .allowExcessArguments(true);
  if (parseFlags(cmd, args) === 'help') return 0;
  const [server] = requireArgs(cmd, 1, 'at most');
  const o = cmd.opts<{
    username?: string;
    password?: string;
    passwordStdin?: boolean;
    tlsVerify?: string | boolean;
  }>();
  const tlsVerify = parseTlsVerify(o.tlsVerify);
  let password = o.password;
  if (password !== undefined)
    ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (o.passwordStdin) {
    if (password !== undefined)
      throw new SlipwayError('USAGE', '--password and --password-stdin are mutually exclusive');
    if (o.username === undefined)
      throw new SlipwayError('USAGE', 'Must provide --username with --password-stdin');
    password = (await readAll(process.stdin)).replace(/\r?\n$/, '').replace(/\r$/, '');
  }
  const credentials = new CredentialStore();
  let username = o.username?.trim();
  try {
    if (username === undefined && password === undefined) {
      // Docker first tries what is stored, then asks.
      const stored = await credentials.get(server ?? 'docker.io');
      if (stored && !stored.identityToken) {
        try {
          ctx.out('Authenticating with existing credentials...\n');
          await checkCredentials(server, stored, {
            credentials,
            ...(tlsVerify === undefined ? {} : { tlsVerify }),
          });
          ctx.out('Login Succeeded\n');
          return 0;
        } catch {
          ctx.err(
            `Login did not succeed, error: stored credentials for ${credentialKey(server)} were rejected\n`,
          );
        }
      }
    }
    if (username === undefined || username === '') {
      if (!process.stdin.isTTY)
        throw new SlipwayError('USAGE', 'Cannot perform an interactive login from a non TTY device');
      username = (await prompt('Username: ', false)).trim();
      if (username === '') throw new SlipwayError('USAGE', 'Username cannot be empty');
    }
    if (password === undefined) {
      if (!process.stdin.isTTY)
        throw new SlipwayError('USAGE', 'Cannot perform an interactive login from a non TTY device');
      password = await prompt('Password: ', true);
    }
    if (password === '') throw new SlipwayError('USAGE', 'Password Required');
    const result = await login({
      username,
      password,
      credentials,
      ...(server === undefined ? {} : { server }),
      ...(tlsVerify === undefined ? {} : { tlsVerify }),
    });
    if (!result.helper) {
      ctx.err(
        `WARNING! Your password will be stored unencrypted in ${result.file}.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/engine/reference/commandline/login/#credentials-store\n\n`,
      );
    }
    ctx.out('Login Succeeded\n');
    return 0;
  } catch (e) {
    return registryFailure(ctx, e, 'Error response from daemon: ');
  }
};

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer | string>)
    chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return Buffer.concat(chunks).toString('utf8');
}

/** Read one line from the terminal; `hidden` echoes nothing (passwords). */
function prompt(question: string, hidden: boolean): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      if (hidden) process.stderr.write('\n');
      resolve(answer);
    });
    muted = hidden;
  });
}
