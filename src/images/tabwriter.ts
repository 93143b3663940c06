/**
 * Go's text/tabwriter as the Docker CLI configures it (`NewWriter(out, 10, 1, 3, ' ', 0)`): cells are
 * tab-terminated, a column is as wide as its widest cell plus the padding (at least minwidth), and a
 * column's width is computed per block of consecutive lines that have that column. The last cell of a line
 * is never padded. Widths count runes, as Go does.
 */
export interface TabwriterOptions {
  minwidth?: number;
  padding?: number;
}

const runeWidth = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

export function tabwrite(text: string, opts: TabwriterOptions = {}): string {
  const minwidth = opts.minwidth ?? 10;
  const padding = opts.padding ?? 3;
  const lines = text.split('\n').map((l) => l.split('\t'));
  const widths: number[] = [];
  const out: string[] = [];

  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i]!;
      for (let j = 0; j < line.length; j++) {
        const c = line[j]!;
        out.push(c);
        if (j < widths.length) out.push(' '.repeat(widths[j]! - runeWidth(c)));
      }
      if (i + 1 < lines.length) out.push('\n');
    }
  };

  const format = (start: number, line1: number): void => {
    let line0 = start;
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t]!.length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let width = minwidth;
      for (; t < line1; t++) {
        const line = lines[t]!;
        if (column >= line.length - 1) break;
        width = Math.max(width, runeWidth(line[column]!) + padding);
      }
      widths.push(width);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join('');
}
