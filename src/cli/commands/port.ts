import { resolveContainer } from '../../containers/lifecycle.js';
import { ContainerStore } from '../../containers/store.js';
import { SlipwayError } from '../../errors.js';
import type { CommandRunner } from '../context.js';
import { dockerCommand, parseFlags } from '../flags.js';
import { ArgCountError } from '../usage-error.js';

export const run: CommandRunner = async (args, ctx) => {
  const cmd = dockerCommand(
    'port',
    'CONTAINER [PRIVATE_PORT[/PROTO]]',
    'List port mappings or a specific mapping for the container',
  )
    .argument('[container]')
    .argument('[port]')
    .allowExcessArguments(true);
  if (parseFlags(cmd, args) === 'help') return 0;
  const [ref, portArg] = cmd.args;
  if (ref === undefined || cmd.args.length > 2) {
    throw new ArgCountError(cmd, 'requires at least 1 and at most 2 arguments');
  }
  const cs = new ContainerStore(ctx.root);
  let rec: Awaited<ReturnType<typeof resolveContainer>>;
  try {
    rec = await resolveContainer(cs, ref);
  } catch (e) {
    if (e instanceof SlipwayError && (e.code === 'NOT_FOUND' || e.code === 'CONFLICT')) {
      ctx.err(`Error response from daemon: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const ports = rec.state.status === 'running' ? rec.state.ports : [];
  const sorted = [...ports].sort(
    (a, b) => a.containerPort - b.containerPort || a.proto.localeCompare(b.proto),
  );
  const host = (ip: string, port: number) => `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
  if (portArg !== undefined) {
    const [num = '', proto = 'tcp'] = portArg.split('/');
    const hits = sorted.filter((b) => String(b.containerPort) === num && b.proto === proto);
    if (hits.length === 0) {
      ctx.err(`Error: No public port '${num}/${proto}' published for ${ref}\n`);
      return 1;
    }
    for (const b of hits) ctx.out(`${host(b.hostIp, b.hostPort)}\n`);
    return 0;
  }
  for (const b of sorted) ctx.out(`${b.containerPort}/${b.proto} -> ${host(b.hostIp, b.hostPort)}\n`);
  return 0;
};
