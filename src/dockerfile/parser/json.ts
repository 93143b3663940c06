/**
 * encoding/json as BuildKit meets it: strict grammar, 10000-deep nesting limit, invalid
 * UTF-8 and lone \u surrogates in strings become U+FFFD, and a number that overflows
 * float64 is an (unmarshal) error rather than a value. Iterative, so deep input can't
 * blow the JS stack.
 */
import { isRawByteUnit } from './gostr.js';

export type JsonValue = string | JsonArray | JsonObject | JsonScalar;
export interface JsonArray {
  kind: 'array';
  items: JsonValue[];
}
export interface JsonObject {
  kind: 'object';
  entries: Map<string, JsonValue>;
}
export interface JsonScalar {
  kind: 'number' | 'bool' | 'null';
}

export type JsonResult =
  | {
      ok: true;
      value: JsonValue /** A number overflowed float64: Go's Unmarshal reports an error. */;
      overflow: boolean;
    }
  | { ok: false };

const MAX_DEPTH = 10000;

interface Frame {
  container: JsonArray | JsonObject;
  key: string;
}

class JsonSyntax extends Error {}

export function parseGoJson(s: string): JsonResult {
  try {
    return parse(s);
  } catch (e) {
    if (e instanceof JsonSyntax) return { ok: false };
    throw e;
  }
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function parse(s: string): JsonResult {
  const n = s.length;
  let pos = 0;
  let overflow = false;
  const stack: Frame[] = [];
  const skipWs = (): void => {
    while (pos < n && isWs(s.charCodeAt(pos))) pos++;
  };
  const fail = (): never => {
    throw new JsonSyntax();
  };
  const readString = (): string => {
    // s[pos] is the opening quote
    pos++;
    let out = '';
    let runStart = pos;
    for (;;) {
      if (pos >= n) fail();
      const c = s.charCodeAt(pos);
      if (c === 0x22) {
        out += s.slice(runStart, pos);
        pos++;
        return out;
      }
      if (c < 0x20) fail();
      if (isRawByteUnit(c)) {
        out += `${s.slice(runStart, pos)}\ufffd`;
        pos++;
        runStart = pos;
        continue;
      }
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += s.slice(runStart, pos);
      pos++;
      if (pos >= n) fail();
      const e = s.charCodeAt(pos);
      pos++;
      switch (e) {
        case 0x22:
          out += '"';
          break;
        case 0x5c:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          const r = hex4(s, pos);
          if (r < 0) fail();
          pos += 4;
          if (r >= 0xd800 && r <= 0xdfff) {
            if (r <= 0xdbff && s.charCodeAt(pos) === 0x5c && s.charCodeAt(pos + 1) === 0x75) {
              const r2 = hex4(s, pos + 2);
              if (r2 >= 0xdc00 && r2 <= 0xdfff) {
                out += String.fromCharCode(r, r2);
                pos += 6;
                break;
              }
            }
            out += '\ufffd';
          } else out += String.fromCharCode(r);
          break;
        }
        default:
          fail();
      }
      runStart = pos;
    }
  };
  const readNumber = (): void => {
    const start = pos;
    if (s.charCodeAt(pos) === 0x2d) pos++;
    const d0 = s.charCodeAt(pos);
    if (d0 === 0x30) pos++;
    else if (d0 >= 0x31 && d0 <= 0x39) while (isDigit(s.charCodeAt(pos))) pos++;
    else fail();
    if (s.charCodeAt(pos) === 0x2e) {
      pos++;
      if (!isDigit(s.charCodeAt(pos))) fail();
      while (isDigit(s.charCodeAt(pos))) pos++;
    }
    const e = s.charCodeAt(pos);
    if (e === 0x65 || e === 0x45) {
      pos++;
      const sign = s.charCodeAt(pos);
      if (sign === 0x2b || sign === 0x2d) pos++;
      if (!isDigit(s.charCodeAt(pos))) fail();
      while (isDigit(s.charCodeAt(pos))) pos++;
    }
    if (!Number.isFinite(Number(s.slice(start, pos)))) overflow = true;
  };
  const readKey = (frame: Frame): void => {
    if (s.charCodeAt(pos) !== 0x22) fail();
    frame.key = readString();
    skipWs();
    if (s.charCodeAt(pos) !== 0x3a) fail();
    pos++;
    skipWs();
  };

  skipWs();
  for (;;) {
    // Expect a value at pos.
    let value: JsonValue | undefined;
    const c = s.charCodeAt(pos);
    if (c === 0x5b || c === 0x7b) {
      const container: JsonArray | JsonObject =
        c === 0x5b ? { kind: 'array', items: [] } : { kind: 'object', entries: new Map() };
      const frame: Frame = { container, key: '' };
      stack.push(frame);
      if (stack.length > MAX_DEPTH) fail();
      pos++;
      skipWs();
      const close = c === 0x5b ? 0x5d : 0x7d;
      if (s.charCodeAt(pos) === close) {
        pos++;
        stack.pop();
        value = container;
      } else {
        if (c === 0x7b) readKey(frame);
        continue;
      }
    } else if (c === 0x22) value = readString();
    else if (c === 0x2d || isDigit(c)) {
      readNumber();
      value = { kind: 'number' };
    } else if (s.startsWith('true', pos) || s.startsWith('null', pos)) {
      value = { kind: c === 0x74 ? 'bool' : 'null' };
      pos += 4;
    } else if (s.startsWith('false', pos)) {
      value = { kind: 'bool' };
      pos += 5;
    } else fail();

    // Attach the finished value, closing containers as far as the input says.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        skipWs();
        if (pos !== n) fail();
        return { ok: true, value: value as JsonValue, overflow };
      }
      if (top.container.kind === 'array') top.container.items.push(value as JsonValue);
      else top.container.entries.set(top.key, value as JsonValue);
      skipWs();
      const d = s.charCodeAt(pos);
      if (d === 0x2c) {
        pos++;
        skipWs();
        if (top.container.kind === 'object') readKey(top);
        break;
      }
      if (d === (top.container.kind === 'array' ? 0x5d : 0x7d)) {
        pos++;
        stack.pop();
        value = top.container;
        continue;
      }
      fail();
    }
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hex4(s: string, at: number): number {
  if (at + 4 > s.length) return -1;
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const c = s.charCodeAt(at + k);
    let d: number;
    if (c >= 0x30 && c <= 0x39) d = c - 0x30;
    else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
    else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}
