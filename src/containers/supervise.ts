/**
 * Entry of the detached container supervisor: `node supervise.js --root R --log EARLY_LOG`, spawned by
 * supervisor-launch.ts prepareSupervisor before the CLI knows the container. It loads only what supervising
 * needs, then reads one JSON line (GoMessage) from fd 4 — or EOF, when the CLI gave up — and reports
 * on fd 3 once the container runs.
 */
import { renameSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { ContainerStore } from './store.js';
import { supervise } from './supervisor.js';
import type { GoMessage } from './supervisor-launch.js';

function argValue(name: string): string {
  const i = process.argv.indexOf(name);
  const v = i === -1 ? undefined : process.argv[i + 1];
  if (v === undefined) {
    process.stderr.write(`supervise: missing ${name}\n`);
    process.exit(2);
  }
  return v;
}

async function readGo(): Promise<GoMessage | undefined> {
  let text = '';
  for await (const chunk of new Socket({ fd: 4, readable: true, writable: false })) {
    text += (chunk as Buffer).toString('utf8');
  }
  const line = text.split('\n')[0];
  return line ? (JSON.parse(line) as GoMessage) : undefined;
}

/** Top-level await is avoided: the bundle is CommonJS, whose loader starts faster than ESM's. */
async function main(): Promise<number> {
  const root = argValue('--root');
  const earlyLog = argValue('--log');
  const go = await readGo().catch(() => undefined);
  if (!go || !/^[0-9a-f]{64}$/.test(go.id)) {
    rmSync(earlyLog, { force: true });
    return 0;
  }
  try {
    renameSync(earlyLog, new ContainerStore(root).paths(go.id).supervisorLog);
  } catch {
    // the container dir is gone (removed meanwhile): supervise reports that
  }
  const { id, ...opts } = go;
  return supervise(root, id, { ...opts, readyFd: 3 });
}

void main().then((code) => {
  process.exitCode = code;
});
