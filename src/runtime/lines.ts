import { StringDecoder } from 'node:string_decoder';

/** Where a container's stdout or stderr goes: raw bytes to a stream, or whole lines to a callback. */
export type OutputTarget = NodeJS.WritableStream | ((line: string) => void);

/** A line longer than this is delivered in pieces so one endless line cannot grow memory unbounded. */
const MAX_LINE = 64 * 1024;

/** Splits a byte stream into UTF-8 lines (without the `\n`), delivering each as soon as it is complete. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(private readonly onLine: (line: string) => void) {}

  write(chunk: Buffer): void {
    this.pending += this.decoder.write(chunk);
    let nl = this.pending.indexOf('\n');
    while (nl !== -1) {
      this.onLine(this.pending.slice(0, nl));
      this.pending = this.pending.slice(nl + 1);
      nl = this.pending.indexOf('\n');
    }
    while (this.pending.length > MAX_LINE) {
      this.onLine(this.pending.slice(0, MAX_LINE));
      this.pending = this.pending.slice(MAX_LINE);
    }
  }

  /** Deliver a last line that had no newline. */
  end(): void {
    this.pending += this.decoder.end();
    if (this.pending.length > 0) this.onLine(this.pending);
    this.pending = '';
  }
}

/** A chunk sink for one target; `end` flushes but never closes a caller's stream. */
export function sinkFor(target: OutputTarget | undefined): { write(chunk: Buffer): void; end(): void } {
  if (target === undefined) return { write: () => {}, end: () => {} };
  if (typeof target === 'function') {
    const splitter = new LineSplitter(target);
    return { write: (c) => splitter.write(c), end: () => splitter.end() };
  }
  return { write: (c) => void target.write(c), end: () => {} };
}
