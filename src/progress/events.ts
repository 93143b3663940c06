/** The build reports through these events; renderers decide how they look. Nothing below the CLI prints. */
export type ProgressEvent =
  | { type: 'vertex-start'; id: number; name: string; time: number }
  | { type: 'vertex-cached'; id: number; time: number }
  | { type: 'vertex-done'; id: number; time: number }
  | { type: 'vertex-error'; id: number; time: number; error: string }
  | { type: 'vertex-canceled'; id: number; time: number }
  | { type: 'vertex-status'; id: number; text: string }
  | { type: 'vertex-log'; id: number; stream: 'stdout' | 'stderr'; data: string; time: number }
  | { type: 'warning'; text: string };

export interface ProgressSink {
  emit(event: ProgressEvent): void;
  /** Called once when the build ends; `ok` false after an error. */
  close(ok: boolean): void;
}

/** Numbers vertices in start order and times them, so callers just name steps. */
export class ProgressReporter {
  private next = 1;
  constructor(private readonly sink: ProgressSink) {}

  start(name: string): Vertex {
    const id = this.next++;
    this.sink.emit({ type: 'vertex-start', id, name, time: Date.now() });
    return new Vertex(id, this.sink);
  }

  warn(text: string): void {
    this.sink.emit({ type: 'warning', text });
  }

  close(ok: boolean): void {
    this.sink.close(ok);
  }
}

export class Vertex {
  private ended = false;
  constructor(
    readonly id: number,
    private readonly sink: ProgressSink,
  ) {}

  status(text: string): void {
    this.sink.emit({ type: 'vertex-status', id: this.id, text });
  }

  log(stream: 'stdout' | 'stderr', data: string): void {
    this.sink.emit({ type: 'vertex-log', id: this.id, stream, data, time: Date.now() });
  }

  cached(): void {
    if (this.end()) this.sink.emit({ type: 'vertex-cached', id: this.id, time: Date.now() });
  }

  done(): void {
    if (this.end()) this.sink.emit({ type: 'vertex-done', id: this.id, time: Date.now() });
  }

  fail(error: string): void {
    if (this.end()) this.sink.emit({ type: 'vertex-error', id: this.id, time: Date.now(), error });
  }

  /** Stopped because another step failed (BuildKit prints CANCELED, not an error of its own). */
  canceled(): void {
    if (this.end()) this.sink.emit({ type: 'vertex-canceled', id: this.id, time: Date.now() });
  }

  private end(): boolean {
    if (this.ended) return false;
    this.ended = true;
    return true;
  }
}

export const silentSink: ProgressSink = { emit() {}, close() {} };
