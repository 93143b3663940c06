import type { ProgressEvent, ProgressSink } from './events.js';

/** BuildKit's `--progress=plain`: `#N name`, output lines prefixed with `#N <seconds>`, `#N DONE 0.3s`. */
export class PlainRenderer implements ProgressSink {
  private readonly starts = new Map<number, number>();
  private readonly partial = new Map<number, string>();
  private last = 0;

  constructor(private readonly write: (text: string) => void) {}

  emit(e: ProgressEvent): void {
    switch (e.type) {
      case 'vertex-start':
        this.starts.set(e.id, e.time);
        this.separate(e.id);
        this.write(`#${e.id} ${e.name}\n`);
        break;
      case 'vertex-status':
        this.separate(e.id);
        this.write(`#${e.id} ${e.text}\n`);
        break;
      case 'vertex-log': {
        this.separate(e.id);
        const elapsed = ((e.time - (this.starts.get(e.id) ?? e.time)) / 1000).toFixed(3);
        const text = (this.partial.get(e.id) ?? '') + e.data;
        const lines = text.split('\n');
        this.partial.set(e.id, lines.pop() ?? '');
        for (const line of lines) this.write(`#${e.id} ${elapsed} ${line}\n`);
        break;
      }
      case 'vertex-cached':
        this.flush(e.id);
        this.write(`#${e.id} CACHED\n`);
        this.last = 0;
        this.write('\n');
        break;
      case 'vertex-done':
        this.flush(e.id);
        this.write(`#${e.id} DONE ${this.seconds(e.id, e.time)}s\n`);
        this.last = 0;
        this.write('\n');
        break;
      case 'vertex-error':
        this.flush(e.id);
        this.write(`#${e.id} ERROR: ${e.error}\n`);
        this.last = 0;
        this.write('\n');
        break;
      case 'vertex-canceled':
        this.flush(e.id);
        this.write(`#${e.id} CANCELED\n`);
        this.last = 0;
        this.write('\n');
        break;
      case 'warning':
        this.write(`WARNING: ${e.text}\n`);
        break;
    }
  }

  close(): void {}

  private separate(id: number): void {
    if (this.last !== 0 && this.last !== id) this.write('\n');
    this.last = id;
  }

  private flush(id: number): void {
    const rest = this.partial.get(id);
    if (rest) this.write(`#${id} ${rest}\n`);
    this.partial.delete(id);
  }

  private seconds(id: number, end: number): string {
    return ((end - (this.starts.get(id) ?? end)) / 1000).toFixed(1);
  }
}
