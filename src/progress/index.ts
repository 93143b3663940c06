import type { ProgressEvent, ProgressSink } from './events.js';
import { PlainRenderer } from './plain.js';
import { TtyRenderer } from './tty.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'quiet' | 'rawjson';

export function isProgressMode(s: string): s is ProgressMode {
  return ['auto', 'tty', 'plain', 'quiet', 'rawjson'].includes(s);
}

/** Picks the renderer Docker would: tty when stderr is a terminal, plain otherwise. */
export function createRenderer(
  mode: ProgressMode,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressSink {
  const write = (t: string) => {
    stream.write(t);
  };
  const resolved = mode === 'auto' ? (stream.isTTY ? 'tty' : 'plain') : mode;
  switch (resolved) {
    case 'tty':
      return new TtyRenderer(write, () => stream.columns ?? 80);
    case 'plain':
      return new PlainRenderer(write);
    case 'rawjson':
      return {
        emit: (e: ProgressEvent) => write(`${JSON.stringify(e)}\n`),
        close() {},
      };
    default:
      return { emit() {}, close() {} };
  }
}
