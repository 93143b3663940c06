import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { rfc3339Nano } from './record.js';

export type LogStream = 'stdout' | 'stderr';

/** One line of Docker's json-file log driver. */
export interface LogEntry {
  log: string;
  stream: LogStream;
  time: string;
}

/** Docker's json-file copier flushes a line without newline once its buffer holds this much. */
const MAX_PARTIAL = 16 * 1024;

/**
 * Appends a container's output in Docker's json-file format. Each stream is cut at newlines;
 * an unterminated tail is written when it grows past 16 KiB or the stream ends.
 */
export class JsonLogWriter {
  private readonly fd: number;
  private readonly pending: Record<LogStream, Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) };

  /**
   * @param unbuffered a terminal's output (`-t`) is written as it arrives, not held until a newline:
   *   an attached client reads this log, and a shell prompt has no newline.
   */
  constructor(
    path: string,
    private readonly unbuffered = false,
  ) {
    this.fd = openSync(path, 'a', 0o640);
  }

  write(stream: LogStream, chunk: Buffer): void {
    let buf = this.pending[stream].length ? Buffer.concat([this.pending[stream], chunk]) : chunk;
    let nl = buf.indexOf(0x0a);
    while (nl !== -1) {
      this.emit(stream, buf.subarray(0, nl + 1));
      buf = buf.subarray(nl + 1);
      nl = buf.indexOf(0x0a);
    }
    while (buf.length >= MAX_PARTIAL) {
      this.emit(stream, buf.subarray(0, MAX_PARTIAL));
      buf = buf.subarray(MAX_PARTIAL);
    }
    if (this.unbuffered && buf.length > 0) {
      const cut = completeUtf8Length(buf);
      if (cut > 0) this.emit(stream, buf.subarray(0, cut));
      buf = buf.subarray(cut);
    }
    this.pending[stream] = Buffer.from(buf);
  }

  end(stream: LogStream): void {
    if (this.pending[stream].length) this.emit(stream, this.pending[stream]);
    this.pending[stream] = Buffer.alloc(0);
  }

  close(): void {
    this.end('stdout');
    this.end('stderr');
    closeSync(this.fd);
  }

  private emit(stream: LogStream, bytes: Buffer): void {
    const entry: LogEntry = { log: bytes.toString('utf8'), stream, time: rfc3339Nano() };
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
  }
}

/** Length of the longest prefix of `buf` that does not end inside a UTF-8 sequence. */
export function completeUtf8Length(buf: Buffer): number {
  const n = buf.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = buf[n - back] ?? 0;
    if ((b & 0xc0) !== 0x80) {
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      return need > back ? n - back : n;
    }
  }
  return n;
}

function parseLine(line: string): LogEntry | undefined {
  if (line === '') return undefined;
  try {
    const e = JSON.parse(line) as Partial<LogEntry>;
    if (typeof e.log !== 'string' || (e.stream !== 'stdout' && e.stream !== 'stderr')) return undefined;
    return { log: e.log, stream: e.stream, time: typeof e.time === 'string' ? e.time : '' };
  } catch {
    return undefined;
  }
}

/** Reads complete log lines from a byte offset on; a torn last line waits for the next read. */
export class LogReader {
  private rest = '';

  constructor(
    private readonly path: string,
    private offset = 0,
  ) {}

  /** Entries written since the last call. */
  readNew(): LogEntry[] {
    let size: number;
    try {
      size = statSync(this.path).size;
    } catch {
      return [];
    }
    if (size < this.offset) {
      this.offset = 0;
      this.rest = '';
    }
    if (size === this.offset) return [];
    const fd = openSync(this.path, 'r');
    const chunks: Buffer[] = [];
    try {
      while (this.offset < size) {
        const buf = Buffer.alloc(Math.min(1 << 20, size - this.offset));
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n === 0) break;
        this.offset += n;
        chunks.push(buf.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
    const text = this.rest + Buffer.concat(chunks).toString('utf8');
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines.map(parseLine).filter((e): e is LogEntry => e !== undefined);
  }
}

export interface FollowOptions {
  /** Only the last N entries of what is already there; undefined = all. */
  tail?: number;
  /** Byte offset to read from: output of an earlier run is not shown again. */
  from?: number;
  follow: boolean;
  /** Polled while following: true once no more output can come (the container stopped). */
  finished: () => boolean;
  onEntry: (e: LogEntry) => void;
  signal?: AbortSignal;
  intervalMs?: number;
}

/** `docker logs [-f] [--tail N]` over a json-file log. */
export async function followLog(path: string, opts: FollowOptions): Promise<void> {
  const reader = new LogReader(path, opts.from);
  let first = reader.readNew();
  if (opts.tail !== undefined) first = opts.tail === 0 ? [] : first.slice(-opts.tail);
  for (const e of first) opts.onEntry(e);
  if (!opts.follow) return;
  for (;;) {
    if (opts.signal?.aborted) return;
    const done = opts.finished();
    for (const e of reader.readNew()) opts.onEntry(e);
    if (done) return;
    await sleep(opts.intervalMs ?? 50);
  }
}
