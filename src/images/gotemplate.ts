import { SlipwayError } from '../errors.js';

/**
 * A subset of Go's text/template, enough for Docker's `--format`: field chains (`.Config.Cmd`), `$`,
 * variables, pipelines, `if`/`else if`/`else`/`range`/`with`/`end`, trim markers, string/number literals,
 * and Docker's template functions (json, join, split, upper, lower, title, pad, truncate, println) plus
 * Go's builtins (index, len, print, printf, println, eq, ne, lt, le, gt, ge, and, or, not).
 * Values print with Go's `%v` rules: slices `[a b]`, maps `map[k:v]`, structs `{a b}`.
 */

/** A typed Go nil: prints as `[]` (slice), `map[]` (map) or `<nil>` (pointer); JSON-encodes as null. */
export class GoNil {
  constructor(readonly kind: 'slice' | 'map' | 'ptr') {}
  toJSON(): null {
    return null;
  }
}
export const nilSlice = new GoNil('slice');
export const nilMap = new GoNil('map');
export const nilPtr = new GoNil('ptr');

const structs = new WeakMap<object, string>();
const escapedJson = new WeakSet<object>();

/**
 * Mark an object as a Go struct: `%v` prints `{v1 v2}` and a missing field is an execution error naming
 * `typeName` (maps instead yield `<no value>`).
 */
export function goStruct<T extends object>(o: T, typeName = 'struct'): T {
  structs.set(o, typeName);
  return o;
}

/** Docker formatter contexts marshal with json.Marshal, which escapes <, > and & as \u003c…. */
export function htmlEscapedJson<T extends object>(o: T): T {
  escapedJson.add(o);
  return o;
}

export type TemplateFunc = (...args: unknown[]) => unknown;

// ---------- lexer / parser ----------

type Arg =
  | { k: 'field'; base: 'dot' | { v: string }; chain: string[]; pos: number; text: string }
  | { k: 'str'; v: string }
  | { k: 'num'; v: number }
  | { k: 'bool'; v: boolean }
  | { k: 'nil' }
  | { k: 'ident'; name: string; pos: number }
  | { k: 'pipe'; pipe: Pipe; chain: string[]; pos: number; text: string };

interface Cmd {
  args: Arg[];
}
interface Pipe {
  decl: string[];
  cmds: Cmd[];
}
type Node =
  | { k: 'text'; v: string }
  | { k: 'action'; pipe: Pipe }
  | { k: 'if' | 'with' | 'range'; pipe: Pipe; list: Node[]; elseList: Node[] };

class ParseError extends Error {}

interface Action {
  body: string;
  /** Offset of the body in the template source. */
  pos: number;
}

type Piece = { text: string } | { action: Action };

function splitPieces(src: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, '');
    trimNext = false;
    if (open < 0) {
      pieces.push({ text });
      break;
    }
    let start = open + 2;
    if (/^-[ \t\r\n]/.test(src.slice(start, start + 2))) {
      text = text.replace(/\s+$/, '');
      start += 2;
    }
    pieces.push({ text });
    // Find the closing braces outside string literals.
    let j = start;
    let close = -1;
    while (j < src.length) {
      const c = src[j];
      if (c === '"' || c === '`' || c === "'") {
        const q = c;
        j++;
        while (j < src.length && src[j] !== q) {
          if (src[j] === '\\' && q !== '`') j++;
          j++;
        }
        j++;
        continue;
      }
      if (src.startsWith('}}', j)) {
        close = j;
        break;
      }
      j++;
    }
    if (close < 0) throw new ParseError(`template: :${lineOf(src, open)}: unclosed action`);
    let end = close;
    if (/[ \t\r\n]-$/.test(src.slice(Math.max(start, close - 2), close))) {
      end = close - 2;
      trimNext = true;
    }
    pieces.push({ action: { body: src.slice(start, end), pos: start } });
    i = close + 2;
  }
  return pieces.filter((p) => !('text' in p) || p.text !== '');
}

function lineOf(src: string, pos: number): number {
  let n = 1;
  for (let i = 0; i < pos && i < src.length; i++) if (src[i] === '\n') n++;
  return n;
}

type Tok =
  | { t: 'field'; v: string; pos: number }
  | { t: 'var'; v: string; pos: number }
  | { t: 'str'; v: string; pos: number }
  | { t: 'num'; v: number; pos: number }
  | { t: 'ident'; v: string; pos: number }
  | { t: '|' | '(' | ')' | ':=' | '=' | ','; pos: number };

function unquoteGo(lit: string): string {
  if (lit.startsWith('`')) return lit.slice(1, -1);
  try {
    return JSON.parse(
      lit
        .replace(/\\x([0-9a-fA-F]{2})/g, '\\u00$1')
        .replace(/\\a/g, '\\u0007')
        .replace(/\\v/g, '\\u000b'),
    ) as string;
  } catch {
    throw new ParseError(`template: :1: malformed string ${lit}`);
  }
}

function lexAction(body: string, base: number, src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const err = (m: string) => new ParseError(`template: :${lineOf(src, base + i)}: ${m}`);
  while (i < body.length) {
    const c = body[i]!;
    const pos = base + i;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '|' || c === '(' || c === ')' || c === ',' || c === '=') {
      toks.push({ t: c, pos });
      i++;
      continue;
    }
    if (c === ':' && body[i + 1] === '=') {
      toks.push({ t: ':=', pos });
      i += 2;
      continue;
    }
    if (c === '"' || c === '`') {
      let j = i + 1;
      while (j < body.length && body[j] !== c) {
        if (body[j] === '\\' && c === '"') j++;
        j++;
      }
      if (j >= body.length) throw err('unterminated quoted string');
      toks.push({ t: 'str', v: unquoteGo(body.slice(i, j + 1)), pos });
      i = j + 1;
      continue;
    }
    const m = /^\.(?:[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)?/.exec(body.slice(i)) ?? undefined;
    if (c === '.' && m) {
      toks.push({ t: 'field', v: m[0], pos });
      i += m[0].length;
      continue;
    }
    const v = /^\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(body.slice(i));
    if (v) {
      toks.push({ t: 'var', v: v[0], pos });
      i += v[0].length;
      continue;
    }
    const n = /^[-+]?(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)/.exec(body.slice(i));
    if (n && /[-+\d]/.test(c)) {
      toks.push({ t: 'num', v: Number(n[0]), pos });
      i += n[0].length;
      continue;
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(body.slice(i));
    if (id) {
      toks.push({ t: 'ident', v: id[0], pos });
      i += id[0].length;
      continue;
    }
    throw err(`unexpected "${c}" in command`);
  }
  return toks;
}

class ActionParser {
  private i = 0;
  constructor(
    private readonly toks: Tok[],
    private readonly src: string,
    private readonly funcs: ReadonlySet<string>,
  ) {}

  private err(m: string): ParseError {
    const t = this.toks[this.i] ?? this.toks[this.toks.length - 1];
    return new ParseError(`template: :${lineOf(this.src, t?.pos ?? 0)}: ${m}`);
  }

  atEnd(): boolean {
    return this.i >= this.toks.length;
  }

  pipeline(context: string, allowDecl = true): Pipe {
    const decl: string[] = [];
    if (allowDecl) {
      // `$x :=` or `$i, $e :=`
      const save = this.i;
      const names: string[] = [];
      while (this.toks[this.i]?.t === 'var') {
        names.push((this.toks[this.i] as { v: string }).v);
        this.i++;
        if (this.toks[this.i]?.t === ',') this.i++;
        else break;
      }
      const op = this.toks[this.i]?.t;
      if (names.length > 0 && (op === ':=' || op === '=')) {
        this.i++;
        decl.push(...names);
      } else this.i = save;
    }
    const cmds: Cmd[] = [];
    for (;;) {
      const args: Arg[] = [];
      while (!this.atEnd() && this.toks[this.i]!.t !== '|' && this.toks[this.i]!.t !== ')') {
        args.push(this.operand());
      }
      if (args.length === 0) throw this.err(`missing value for ${context}`);
      cmds.push({ args });
      if (this.toks[this.i]?.t === '|') {
        this.i++;
        continue;
      }
      break;
    }
    return { decl, cmds };
  }

  private operand(): Arg {
    const t = this.toks[this.i++]!;
    switch (t.t) {
      case 'field':
        return {
          k: 'field',
          base: 'dot',
          chain: t.v === '.' ? [] : t.v.slice(1).split('.'),
          // Go's parser folds `.A.B.C` into one field node placed at its second segment (`.B`).
          pos: t.pos + Math.max(0, t.v.indexOf('.', 1)),
          text: t.v,
        };
      case 'var': {
        const [name, ...chain] = t.v.split('.');
        return { k: 'field', base: { v: name! }, chain, pos: t.pos, text: t.v };
      }
      case 'str':
        return { k: 'str', v: t.v };
      case 'num':
        return { k: 'num', v: t.v };
      case 'ident':
        if (t.v === 'true' || t.v === 'false') return { k: 'bool', v: t.v === 'true' };
        if (t.v === 'nil') return { k: 'nil' };
        if (!this.funcs.has(t.v)) throw this.err(`function "${t.v}" not defined`);
        return { k: 'ident', name: t.v, pos: t.pos };
      case '(': {
        const pipe = this.pipeline('parenthesized pipeline', false);
        if (this.toks[this.i]?.t !== ')') throw this.err('unclosed left paren');
        this.i++;
        let chain: string[] = [];
        const next = this.toks[this.i];
        if (next?.t === 'field' && next.pos === (this.toks[this.i - 1]?.pos ?? -2) + 1) {
          chain = next.v.slice(1).split('.');
          this.i++;
        }
        return { k: 'pipe', pipe, chain, pos: t.pos, text: '(…)' };
      }
      default:
        throw this.err(`unexpected "${t.t}" in operand`);
    }
  }
}

/** A parsed template, ready to run against any data. */
export class GoTemplate {
  private constructor(
    private readonly nodes: Node[],
    private readonly src: string,
    private readonly funcs: Record<string, TemplateFunc>,
  ) {}

  /** Parse `src`; throws SlipwayError('USAGE') with Go's "template: :1: …" message on syntax errors. */
  static parse(src: string, funcs: Record<string, TemplateFunc> = DOCKER_FUNCS): GoTemplate {
    try {
      const pieces = splitPieces(src);
      const names = new Set(Object.keys(funcs));
      let idx = 0;
      const parseList = (stopAt: Set<string>): { list: Node[]; stop: string; rest?: Action } => {
        const list: Node[] = [];
        while (idx < pieces.length) {
          const p = pieces[idx++]!;
          if ('text' in p) {
            list.push({ k: 'text', v: p.text });
            continue;
          }
          const body = p.action.body.trim();
          if (body.startsWith('/*')) {
            if (!body.endsWith('*/')) throw new ParseError('template: :1: unclosed comment');
            continue;
          }
          const kw = /^(if|else|end|range|with|define|template|block|break|continue)\b/.exec(body)?.[1];
          if (kw === 'end' || kw === 'else') {
            if (!stopAt.has(kw))
              throw new ParseError(`template: :${lineOf(src, p.action.pos)}: unexpected {{${kw}}}`);
            return { list, stop: kw, rest: p.action };
          }
          if (kw === 'if' || kw === 'with' || kw === 'range') {
            list.push(parseControl(kw, p.action, p.action.body.indexOf(kw) + kw.length));
            continue;
          }
          if (kw) throw new ParseError(`template: :${lineOf(src, p.action.pos)}: {{${kw}}} is not supported`);
          const toks = lexAction(p.action.body, p.action.pos, src);
          if (toks.length === 0)
            throw new ParseError(`template: :${lineOf(src, p.action.pos)}: missing value for command`);
          const ap = new ActionParser(toks, src, names);
          const pipe = ap.pipeline('command');
          if (!ap.atEnd())
            throw new ParseError(`template: :${lineOf(src, p.action.pos)}: unexpected ")" in command`);
          list.push({ k: 'action', pipe });
        }
        if (stopAt.size > 0) throw new ParseError(`template: :${lineOf(src, src.length)}: unexpected EOF`);
        return { list, stop: 'eof' };
      };
      const parseControl = (kw: 'if' | 'with' | 'range', a: Action, offset: number): Node => {
        const toks = lexAction(a.body.slice(offset), a.pos + offset, src);
        const ap = new ActionParser(toks, src, names);
        const pipe = ap.pipeline(kw);
        const body = parseList(new Set(['else', 'end']));
        let elseList: Node[] = [];
        if (body.stop === 'else') {
          const rest = body.rest!.body.trim().slice(4).trim();
          const chained = /^(if|with)\b/.exec(rest)?.[1] as 'if' | 'with' | undefined;
          if (chained) {
            const off =
              body.rest!.body.indexOf(chained, body.rest!.body.indexOf('else') + 4) + chained.length;
            // `else if` shares the enclosing `end`.
            elseList = [parseControl(chained, body.rest!, off)];
          } else {
            const e = parseList(new Set(['end']));
            elseList = e.list;
          }
        }
        return { k: kw, pipe, list: body.list, elseList };
      };
      const { list } = parseList(new Set());
      return new GoTemplate(list, src, funcs);
    } catch (e) {
      if (e instanceof ParseError) throw new SlipwayError('USAGE', e.message);
      throw e;
    }
  }

  /** Go's `Option("missingkey=error")` for the current execution: a missing map key fails it. */
  private missingKeyIsError = false;

  /**
   * Run against `data`. `missingKey: 'error'` is Go's `missingkey=error`, which docker inspect's
   * fallback onto the raw JSON uses: `{{.Foo}}` fails instead of printing `<no value>`.
   */
  execute(data: unknown, opts: { missingKey?: 'error' } = {}): string {
    const out: string[] = [];
    const vars: Array<Map<string, unknown>> = [new Map([['$', data]])];
    this.missingKeyIsError = opts.missingKey === 'error';
    try {
      this.runList(this.nodes, data, vars, out);
    } finally {
      this.missingKeyIsError = false;
    }
    return out.join('');
  }

  private execErr(pos: number, text: string, msg: string): SlipwayError {
    const lineStart = this.src.lastIndexOf('\n', pos - 1) + 1;
    return new SlipwayError(
      'USAGE',
      `template: :${lineOf(this.src, pos)}:${pos - lineStart}: executing "" at <${text}>: ${msg}`,
    );
  }

  private runList(list: Node[], dot: unknown, vars: Array<Map<string, unknown>>, out: string[]): void {
    for (const n of list) {
      switch (n.k) {
        case 'text':
          out.push(n.v);
          break;
        case 'action': {
          const v = this.evalPipe(n.pipe, dot, vars);
          if (n.pipe.decl.length === 0) out.push(printValue(v));
          break;
        }
        case 'if': {
          const v = this.evalPipe(n.pipe, dot, vars);
          this.scoped(vars, () => this.runList(truthy(v) ? n.list : n.elseList, dot, vars, out));
          break;
        }
        case 'with': {
          const v = this.evalPipe(n.pipe, dot, vars);
          this.scoped(vars, () =>
            this.runList(truthy(v) ? n.list : n.elseList, truthy(v) ? v : dot, vars, out),
          );
          break;
        }
        case 'range': {
          const v = this.evalPipe({ decl: [], cmds: n.pipe.cmds }, dot, vars);
          const items: Array<[unknown, unknown]> = [];
          if (Array.isArray(v)) for (const [i, e] of v.entries()) items.push([i, e]);
          else if (isMap(v))
            for (const k of Object.keys(v).sort()) items.push([k, (v as Record<string, unknown>)[k]]);
          else if (typeof v === 'number') for (let i = 0; i < v; i++) items.push([i, i]);
          else if (!(v instanceof GoNil) && v !== null && v !== undefined)
            throw new SlipwayError('USAGE', `template: range can't iterate over ${printValue(v)}`);
          if (items.length === 0) {
            this.scoped(vars, () => this.runList(n.elseList, dot, vars, out));
            break;
          }
          for (const [k, e] of items) {
            this.scoped(vars, () => {
              const d = n.pipe.decl;
              if (d.length === 1) vars[vars.length - 1]!.set(d[0]!, e);
              if (d.length === 2) {
                vars[vars.length - 1]!.set(d[0]!, k);
                vars[vars.length - 1]!.set(d[1]!, e);
              }
              this.runList(n.list, e, vars, out);
            });
          }
          break;
        }
      }
    }
  }

  private scoped(vars: Array<Map<string, unknown>>, fn: () => void): void {
    vars.push(new Map());
    try {
      fn();
    } finally {
      vars.pop();
    }
  }

  private lookupVar(vars: Array<Map<string, unknown>>, name: string, pos: number): unknown {
    for (let i = vars.length - 1; i >= 0; i--) if (vars[i]!.has(name)) return vars[i]!.get(name);
    throw this.execErr(pos, name, `undefined variable: ${name}`);
  }

  private evalPipe(p: Pipe, dot: unknown, vars: Array<Map<string, unknown>>): unknown {
    let value: unknown;
    let piped = false;
    for (const c of p.cmds) {
      value = this.evalCmd(c, dot, vars, piped ? [value] : []);
      piped = true;
    }
    if (p.decl.length === 1) vars[vars.length - 1]!.set(p.decl[0]!, value);
    return value;
  }

  private evalCmd(c: Cmd, dot: unknown, vars: Array<Map<string, unknown>>, extra: unknown[]): unknown {
    const first = c.args[0]!;
    if (first.k === 'ident') {
      const fn = this.funcs[first.name]!;
      const args = [...c.args.slice(1).map((a) => this.evalArg(a, dot, vars)), ...extra];
      try {
        return fn(...args);
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        throw this.execErr(first.pos, first.name, `error calling ${first.name}: ${msg}`);
      }
    }
    if (c.args.length > 1 || extra.length > 0) {
      const pos = 'pos' in first ? first.pos : 0;
      throw this.execErr(
        pos,
        'text' in first ? first.text : '',
        `can't give argument to non-function ${'text' in first ? first.text : ''}`,
      );
    }
    return this.evalArg(first, dot, vars);
  }

  private evalArg(a: Arg, dot: unknown, vars: Array<Map<string, unknown>>): unknown {
    switch (a.k) {
      case 'str':
      case 'num':
      case 'bool':
        return a.v;
      case 'nil':
        return null;
      case 'ident':
        return this.funcs[a.name]!();
      case 'pipe':
        return this.walk(this.evalPipe(a.pipe, dot, vars), a.chain, a.pos, a.text);
      case 'field': {
        const base = a.base === 'dot' ? dot : this.lookupVar(vars, a.base.v, a.pos);
        return this.walk(base, a.chain, a.pos, a.text);
      }
    }
  }

  private walk(start: unknown, chain: string[], pos: number, text: string): unknown {
    let v = start;
    for (const name of chain) {
      // Indexing a nil map is no error in Go: the key is just missing.
      if (v instanceof GoNil && v.kind === 'map') {
        if (this.missingKeyIsError) throw this.execErr(pos, text, `map has no entry for key "${name}"`);
        v = undefined;
        continue;
      }
      if (v instanceof GoNil || v === null) {
        throw this.execErr(
          pos,
          text,
          `nil pointer evaluating ${v instanceof GoNil ? 'interface {}' : '<nil>'}.${name}`,
        );
      }
      if (typeof v !== 'object' || v === undefined || Array.isArray(v)) {
        throw this.execErr(pos, text, `can't evaluate field ${name} in type ${goTypeName(v)}`);
      }
      const obj = v as Record<string, unknown>;
      const structName = structs.get(obj);
      if (structName !== undefined) {
        if (!(name in obj))
          throw this.execErr(pos, text, `can't evaluate field ${name} in type ${structName}`);
        const f = obj[name];
        v = typeof f === 'function' ? (f as () => unknown).call(obj) : f;
      } else if (Object.hasOwn(obj, name)) {
        v = obj[name];
      } else if (this.missingKeyIsError) {
        throw this.execErr(pos, text, `map has no entry for key "${name}"`);
      } else {
        v = undefined;
      }
    }
    return v;
  }
}

function goTypeName(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'interface {}';
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof GoNil) && !structs.has(v);
}

/** Go template truthiness: zero values and empty collections are false. */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (v instanceof GoNil) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's `%v` for the values templates see. `undefined` is a missing map key: `<no value>`. */
export function printValue(v: unknown): string {
  if (v === undefined) return '<no value>';
  return formatV(v, true);
}

function formatV(v: unknown, top: boolean): string {
  if (v === undefined) return '<nil>';
  if (v === null) return '<nil>';
  if (v instanceof GoNil) return v.kind === 'slice' ? '[]' : v.kind === 'map' ? 'map[]' : '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (Array.isArray(v)) return `[${v.map((e) => formatV(e, false)).join(' ')}]`;
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (structs.has(o)) {
      const vals = Object.keys(o)
        .filter((k) => typeof o[k] !== 'function')
        .map((k) => formatV(o[k], false));
      return `{${vals.join(' ')}}`;
    }
    const keys = Object.keys(o).sort();
    return `map[${keys.map((k) => `${k}:${formatV(o[k], false)}`).join(' ')}]`;
  }
  void top;
  return String(v);
}

function formatNumber(n: number): string {
  if (Number.isInteger(n)) return String(n);
  // Go prints float64 with %v as strconv 'g' shortest: exponent form only for large/small magnitudes.
  const s = String(n);
  return s.replace(/e\+?(-?)(\d)$/, 'e$1+0$2').replace(/e\+?(-?)(\d\d+)$/, 'e$1$2');
}

/** Go json.Marshal-compatible text (compact); `escapeHtml` mirrors json.Marshal's default. */
export function goJson(v: unknown, escapeHtml = false): string {
  let s = JSON.stringify(v === undefined ? null : v) ?? 'null';
  s = s.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  if (escapeHtml) s = s.replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
  return s;
}

function toStr(v: unknown, fn: string): string {
  if (typeof v !== 'string')
    throw new Error(`wrong type for value; expected string; got ${goTypeName(v)} (in ${fn})`);
  return v;
}

function toInt(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new Error(`wrong type for value; expected int; got ${goTypeName(v)}`);
  return v;
}

function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    // fmt.Sprint adds a space between operands when neither is a string.
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += printValue(a === undefined ? null : a);
  });
  return out;
}

function sprintf(format: string, args: unknown[]): string {
  let ai = 0;
  return format.replace(
    /%([-+# 0]*)(\d*)(?:\.(\d+))?([vsdqxXtf%])/g,
    (_m, _flags: string, width: string, prec: string, verb: string) => {
      if (verb === '%') return '%';
      const a = args[ai++];
      let s: string;
      switch (verb) {
        case 'q':
          s = JSON.stringify(printValue(a));
          break;
        case 'x':
          s = typeof a === 'number' ? a.toString(16) : Buffer.from(String(a)).toString('hex');
          break;
        case 'X':
          s = (typeof a === 'number' ? a.toString(16) : Buffer.from(String(a)).toString('hex')).toUpperCase();
          break;
        case 'f':
          s = typeof a === 'number' ? a.toFixed(prec ? Number(prec) : 6) : printValue(a);
          break;
        default:
          s = printValue(a);
      }
      return width ? s.padStart(Number(width)) : s;
    },
  );
}

function cmp(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  throw new Error('incompatible types for comparison');
}

/** Go's builtins plus Docker's templates.basicFunctions. */
export const DOCKER_FUNCS: Record<string, TemplateFunc> = {
  json: (v) => goJson(v, typeof v === 'object' && v !== null && escapedJson.has(v)),
  split: (s, sep) => toStr(s, 'split').split(toStr(sep, 'split')),
  join: (list, sep) => {
    if (list instanceof GoNil || list === null) return '';
    if (!Array.isArray(list))
      throw new Error(`wrong type for value; expected []string; got ${goTypeName(list)}`);
    return list.map((e) => toStr(e, 'join')).join(toStr(sep, 'join'));
  },
  title: (s) =>
    toStr(s, 'title').replace(
      /(^|[^\p{L}\p{N}_'])(\p{L})/gu,
      (_m, p: string, c: string) => p + c.toUpperCase(),
    ),
  lower: (s) => toStr(s, 'lower').toLowerCase(),
  upper: (s) => toStr(s, 'upper').toUpperCase(),
  pad: (s, before, after) => `${' '.repeat(toInt(before))}${toStr(s, 'pad')}${' '.repeat(toInt(after))}`,
  truncate: (s, n) => {
    const str = toStr(s, 'truncate');
    const cps = Array.from(str);
    return cps.length > toInt(n) ? cps.slice(0, toInt(n)).join('') : str;
  },
  println: (...args) => `${args.map((a) => printValue(a === undefined ? null : a)).join(' ')}\n`,
  print: (...args) => sprint(args),
  printf: (format, ...args) => sprintf(toStr(format, 'printf'), args),
  index: (item, ...keys) => {
    let v = item;
    for (const k of keys) {
      if (Array.isArray(v)) {
        const i = toInt(k);
        if (i < 0 || i >= v.length) throw new Error(`index out of range: ${i}`);
        v = v[i];
      } else if (v instanceof GoNil || v === null) {
        // The maps docker's templates index are map[string]string (Labels): a missing key is "".
        if (v instanceof GoNil && v.kind === 'map') return '';
        throw new Error('index of untyped nil');
      } else if (typeof v === 'object' && !structs.has(v)) {
        const map = v as Record<string, unknown>;
        const key = toStr(k, 'index');
        v = key in map ? map[key] : Object.values(map).every((x) => typeof x === 'string') ? '' : null;
      } else throw new Error(`can't index item of type ${goTypeName(v)}`);
    }
    return v;
  },
  len: (v) => {
    if (typeof v === 'string') return Buffer.byteLength(v);
    if (Array.isArray(v)) return v.length;
    if (v instanceof GoNil) return 0;
    if (isMap(v)) return Object.keys(v).length;
    throw new Error(`len of type ${goTypeName(v)}`);
  },
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => cmp(a, b) < 0,
  le: (a, b) => cmp(a, b) <= 0,
  gt: (a, b) => cmp(a, b) > 0,
  ge: (a, b) => cmp(a, b) >= 0,
  not: (a) => !truthy(a),
  and: (...args) => {
    for (const a of args) if (!truthy(a)) return a;
    return args[args.length - 1];
  },
  or: (...args) => {
    for (const a of args) if (truthy(a)) return a;
    return args[args.length - 1];
  },
};

/** docker/cli's HeaderFunctions: the formatting functions pass the header text through unchanged. */
export const HEADER_FUNCS: Record<string, TemplateFunc> = {
  ...DOCKER_FUNCS,
  json: (v) => v,
  split: (v) => v,
  join: (v) => v,
  title: (v) => v,
  lower: (v) => v,
  upper: (v) => v,
  pad: (v) => v,
  truncate: (v) => v,
};
