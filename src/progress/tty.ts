import type { ProgressEvent, ProgressSink } from './events.js';

interface Row {
  id: number;
  name: string;
  start: number;
  end?: number;
  state: 'running' | 'cached' | 'done' | 'error' | 'canceled';
  lines: string[];
}

const TAIL_LINES = 6;

/** BuildKit's tty display: redraws `[+] Building 2.7s (10/10)` and one row per step in place. */
export class TtyRenderer implements ProgressSink {
  private readonly rows: Row[] = [];
  private readonly byId = new Map<number, Row>();
  private readonly began = Date.now();
  private drawnLines = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly warnings: string[] = [];

  constructor(
    private readonly write: (text: string) => void,
    private readonly columns: () => number,
  ) {
    this.timer = setInterval(() => this.draw(false), 100);
    this.timer.unref();
  }

  emit(e: ProgressEvent): void {
    if (e.type === 'warning') {
      this.warnings.push(e.text);
      return;
    }
    if (e.type === 'vertex-start') {
      const row: Row = { id: e.id, name: e.name, start: e.time, state: 'running', lines: [] };
      this.rows.push(row);
      this.byId.set(e.id, row);
      return;
    }
    const row = this.byId.get(e.id);
    if (!row) return;
    switch (e.type) {
      case 'vertex-cached':
        row.state = 'cached';
        row.end = e.time;
        break;
      case 'vertex-done':
        row.state = 'done';
        row.end = e.time;
        break;
      case 'vertex-error':
        row.state = 'error';
        row.end = e.time;
        break;
      case 'vertex-canceled':
        row.state = 'canceled';
        row.end = e.time;
        break;
      case 'vertex-log':
      case 'vertex-status':
        for (const l of (e.type === 'vertex-log' ? e.data : e.text).split('\n')) if (l) row.lines.push(l);
        if (row.lines.length > TAIL_LINES) row.lines.splice(0, row.lines.length - TAIL_LINES);
        break;
    }
  }

  close(ok: boolean): void {
    clearInterval(this.timer);
    this.draw(true, ok);
    for (const w of this.warnings) this.write(`WARNING: ${w}\n`);
  }

  private draw(final: boolean, ok = true): void {
    const width = Math.max(40, this.columns() || 80);
    const now = Date.now();
    const finished = this.rows.filter((r) => r.state !== 'running').length;
    const title = final ? (ok ? ' FINISHED' : ' ERROR') : '';
    const out: string[] = [
      `[+] Building ${((now - this.began) / 1000).toFixed(1)}s (${finished}/${this.rows.length})${title}`,
    ];
    for (const r of this.rows) {
      const secs = `${(((r.end ?? now) - r.start) / 1000).toFixed(1)}s`;
      const prefix =
        r.state === 'cached'
          ? ' => CACHED '
          : r.state === 'error'
            ? ' => ERROR '
            : r.state === 'canceled'
              ? ' => CANCELED '
              : ' => ';
      const name = truncate(`${prefix}${r.name}`, width - secs.length - 1);
      out.push(`${name.padEnd(width - secs.length - 1)} ${secs}`);
      if (r.state === 'running' || r.state === 'error') {
        for (const l of r.lines) out.push(truncate(` => => # ${l}`, width));
      }
    }
    let text = '';
    if (this.drawnLines > 0) text += `\x1b[${this.drawnLines}A`;
    for (const line of out) text += `\x1b[2K${line}\n`;
    // A frame shorter than the last one (a step's log tail collapsed) must not leave old lines behind.
    this.write(`${text}\x1b[J`);
    this.drawnLines = out.length;
  }
}

function truncate(s: string, width: number): string {
  return s.length <= width ? s : `${s.slice(0, Math.max(0, width - 1))}…`;
}
