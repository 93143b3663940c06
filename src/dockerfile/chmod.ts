/**
 * COPY/ADD `--chmod`: octal (`0755`, at most 07777) as BuildKit has always accepted, or a
 * chmod(1) symbolic list (`u+x,g-w`, `a=rX`) as dockerfile 1.14+ accepts. Symbolic modes
 * depend on the file (X, copying another class), so they stay a program applied per file.
 */

export type ChmodSpec =
  | { kind: 'octal'; mode: number }
  | { kind: 'symbolic'; text: string; clauses: SymbolicClause[] };

type Who = 'u' | 'g' | 'o';

export interface SymbolicAction {
  op: '+' | '-' | '=';
  /** Permission letters from `rwxXst`, or a class to copy (`g=u`). */
  perms: string;
  copyFrom?: Who;
}

export interface SymbolicClause {
  /** Empty means "all", as chmod(1) with a zero umask. */
  who: Who[];
  actions: SymbolicAction[];
}

export function chmodError(value: string): string {
  return `invalid chmod parameter: '${value}'. it should be octal string and between 0 and 07777`;
}

/** strconv.ParseUint(v, 8, 32) without the prefix/underscore forms base 8 rejects. */
function parseOctal(v: string): number | undefined {
  if (!/^[0-7]+$/.test(v)) return undefined;
  const n = Number.parseInt(v, 8);
  return n > 0xffffffff ? undefined : n;
}

const CLAUSE = /^([ugoa]*)((?:[-+=](?:[ugo]|[rwxXst]*))+)$/;

function parseClause(text: string): SymbolicClause | undefined {
  const m = CLAUSE.exec(text);
  if (!m) return undefined;
  const whoText = m[1] ?? '';
  const who: Who[] = whoText.includes('a') ? [] : [...new Set(whoText.split('') as Who[])];
  const actions: SymbolicAction[] = [];
  const re = /([-+=])([ugo]|[rwxXst]*)/g;
  for (let a = re.exec(m[2] ?? ''); a; a = re.exec(m[2] ?? '')) {
    const op = a[1] as '+' | '-' | '=';
    const perms = a[2] ?? '';
    if (perms === 'u' || perms === 'g' || perms === 'o') actions.push({ op, perms: '', copyFrom: perms });
    else actions.push({ op, perms });
  }
  return { who, actions };
}

/** Parses a `--chmod` value; returns undefined when it is neither octal nor symbolic. */
export function parseChmod(value: string): ChmodSpec | undefined {
  const octal = parseOctal(value);
  if (octal !== undefined) return octal > 0o7777 ? undefined : { kind: 'octal', mode: octal };
  if (/^[0-9]+$/.test(value)) return undefined;
  const clauses: SymbolicClause[] = [];
  for (const part of value.split(',')) {
    const clause = parseClause(part);
    if (!clause) return undefined;
    clauses.push(clause);
  }
  return clauses.length === 0 ? undefined : { kind: 'symbolic', text: value, clauses };
}

const SHIFT: Record<Who, number> = { u: 6, g: 3, o: 0 };

/** Applies a parsed spec to an existing mode (permission + setuid/setgid/sticky bits). */
export function applyChmod(spec: ChmodSpec, mode: number, isDir: boolean): number {
  if (spec.kind === 'octal') return spec.mode;
  let cur = mode & 0o7777;
  for (const clause of spec.clauses) {
    const classes: Who[] = clause.who.length === 0 ? ['u', 'g', 'o'] : clause.who;
    for (const action of clause.actions) {
      let bits = 0;
      if (action.copyFrom) {
        const src = (cur >> SHIFT[action.copyFrom]) & 0o7;
        for (const w of classes) bits |= src << SHIFT[w];
      } else {
        for (const p of action.perms) {
          for (const w of classes) {
            const s = SHIFT[w];
            if (p === 'r') bits |= 0o4 << s;
            else if (p === 'w') bits |= 0o2 << s;
            else if (p === 'x') bits |= 0o1 << s;
            else if (p === 'X') {
              if (isDir || (cur & 0o111) !== 0) bits |= 0o1 << s;
            } else if (p === 's') {
              if (w === 'u') bits |= 0o4000;
              if (w === 'g') bits |= 0o2000;
            } else if (p === 't') {
              if (w === 'o') bits |= 0o1000;
            }
          }
        }
      }
      if (action.op === '+') cur |= bits;
      else if (action.op === '-') cur &= ~bits;
      else {
        let clear = 0;
        for (const w of classes) {
          clear |= 0o7 << SHIFT[w];
          if (w === 'u') clear |= 0o4000;
          if (w === 'g') clear |= 0o2000;
          if (w === 'o') clear |= 0o1000;
        }
        cur = (cur & ~clear) | bits;
      }
    }
  }
  return cur & 0o7777;
}
