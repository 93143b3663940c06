/**
 * Go string semantics on JS strings. BuildKit's parser works on Go strings (bytes that are
 * usually UTF-8); to stay byte-exact for invalid input we decode each invalid byte 0xHH to
 * the lone low surrogate U+DC00+HH (never produced by valid UTF-8), like Python's
 * surrogateescape. Helpers here know that convention.
 */

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** True for the lone surrogates that stand for one raw (invalid UTF-8) byte. */
export function isRawByteUnit(cu: number): boolean {
  return cu >= 0xdc80 && cu <= 0xdcff;
}

/** Decodes bytes the way Go's utf8.DecodeRune walks them: each invalid byte stands alone. */
export function decodeGoBytes(bytes: Uint8Array): string {
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    return decodeSlow(bytes);
  }
}

function decodeSlow(b: Uint8Array): string {
  const parts: string[] = [];
  let units: number[] = [];
  const flush = (): void => {
    parts.push(String.fromCharCode(...units));
    units = [];
  };
  const n = b.length;
  let i = 0;
  while (i < n) {
    if (units.length > 8000) flush();
    const c = b[i]!;
    if (c < 0x80) {
      units.push(c);
      i++;
      continue;
    }
    let size = 0;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) size = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      size = 3;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      size = 4;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    }
    let ok = size > 0 && i + size <= n;
    if (ok) {
      const c1 = b[i + 1]!;
      if (c1 < lo || c1 > hi) ok = false;
      for (let k = 2; ok && k < size; k++) {
        const ck = b[i + k]!;
        if (ck < 0x80 || ck > 0xbf) ok = false;
      }
    }
    if (!ok) {
      units.push(0xdc00 + c);
      i++;
      continue;
    }
    let cp: number;
    if (size === 2) cp = ((c & 0x1f) << 6) | (b[i + 1]! & 0x3f);
    else if (size === 3) cp = ((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f);
    else
      cp = ((c & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else units.push(cp);
    i += size;
  }
  flush();
  return parts.join('');
}

/** The Go bytes of an internal string (raw-byte surrogates become their byte again). */
export function encodeGoBytes(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const cu = s.charCodeAt(i);
    if (cu < 0x80) out.push(cu);
    else if (cu < 0x800) out.push(0xc0 | (cu >> 6), 0x80 | (cu & 0x3f));
    else if (cu >= 0xd800 && cu <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      const cp = 0x10000 + ((cu - 0xd800) << 10) + (s.charCodeAt(i + 1) - 0xdc00);
      out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
      i++;
    } else if (isRawByteUnit(cu)) out.push(cu - 0xdc00);
    else if (cu >= 0xd800 && cu <= 0xdfff) out.push(0xef, 0xbf, 0xbd);
    else out.push(0xe0 | (cu >> 12), 0x80 | ((cu >> 6) & 0x3f), 0x80 | (cu & 0x3f));
  }
  return Uint8Array.from(out);
}

function isLowSurrogate(cu: number): boolean {
  return cu >= 0xdc00 && cu <= 0xdfff;
}

/** Length in bytes of the Go string an internal string stands for. */
export function goByteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const cu = s.charCodeAt(i);
    if (cu < 0x80) n += 1;
    else if (cu < 0x800) n += 2;
    else if (cu >= 0xd800 && cu <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else if (isRawByteUnit(cu)) n += 1;
    else n += 3;
  }
  return n;
}

/** Number of characters (code points; a raw byte counts as one). */
export function charCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const cu = s.charCodeAt(i);
    if (cu >= 0xd800 && cu <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) i++;
    n++;
  }
  return n;
}

/** Go's unicode.IsSpace. */
export function isGoSpace(cp: number): boolean {
  if (cp <= 0xff) return (cp >= 0x09 && cp <= 0x0d) || cp === 0x20 || cp === 0x85 || cp === 0xa0;
  return (
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

/** unicode.IsSpace applied to a single byte value, as BuildKit does when it indexes a string. */
export function isGoSpaceByte(b: number): boolean {
  return (b >= 0x09 && b <= 0x0d) || b === 0x20 || b === 0x85 || b === 0xa0;
}

/** All whitespace this module can meet is in the BMP, so code units suffice. */
export function trimLeftGoSpace(s: string): string {
  let i = 0;
  while (i < s.length && isGoSpace(s.charCodeAt(i))) i++;
  return i === 0 ? s : s.slice(i);
}

export function trimRightGoSpace(s: string): string {
  let j = s.length;
  while (j > 0 && isGoSpace(s.charCodeAt(j - 1))) j--;
  return j === s.length ? s : s.slice(0, j);
}

/** strings.TrimSpace. */
export function trimGoSpace(s: string): string {
  return trimRightGoSpace(trimLeftGoSpace(s));
}

/** Count of leading Go-whitespace code units. */
export function leadingGoSpace(s: string): number {
  let i = 0;
  while (i < s.length && isGoSpace(s.charCodeAt(i))) i++;
  return i;
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;

export function isAscii(s: string): boolean {
  return ASCII_ONLY.test(s);
}

/** strings.ToLower: simple case mapping, invalid bytes become U+FFFD. */
export function goToLower(s: string): string {
  if (isAscii(s)) return s.toLowerCase();
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (isRawByteUnit(cp)) out += '\ufffd';
    else if (cp === 0x130) out += 'i';
    else if (cp < 0x80) out += ch.toLowerCase();
    else {
      const l = ch.toLowerCase();
      out += [...l].length === 1 ? l : ch;
    }
  }
  return out;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** strconv.Quote on the Go string an internal string stands for. */
export function goQuote(s: string): string {
  let out = '"';
  let plainStart = 0;
  const n = s.length;
  let i = 0;
  while (i < n) {
    const cu = s.charCodeAt(i);
    if (cu >= 0x20 && cu < 0x7f && cu !== 0x22 && cu !== 0x5c) {
      i++;
      continue;
    }
    out += s.slice(plainStart, i);
    let cp = cu;
    let width = 1;
    if (cu >= 0xd800 && cu <= 0xdbff && i + 1 < n && isLowSurrogate(s.charCodeAt(i + 1))) {
      cp = 0x10000 + ((cu - 0xd800) << 10) + (s.charCodeAt(i + 1) - 0xdc00);
      width = 2;
    }
    out += quoteRune(cp, s.slice(i, i + width));
    i += width;
    plainStart = i;
  }
  return `${out + s.slice(plainStart)}"`;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function quoteRune(cp: number, text: string): string {
  if (cp === 0x22) return '\\"';
  if (cp === 0x5c) return '\\\\';
  if (isRawByteUnit(cp)) return `\\x${hex(cp - 0xdc00, 2)}`;
  if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
  if (cp >= 0x80 && PRINTABLE.test(cp === 0xfffd ? '\ufffd' : text)) return cp === 0xfffd ? '\ufffd' : text;
  switch (cp) {
    case 0x07:
      return '\\a';
    case 0x08:
      return '\\b';
    case 0x0c:
      return '\\f';
    case 0x0a:
      return '\\n';
    case 0x0d:
      return '\\r';
    case 0x09:
      return '\\t';
    case 0x0b:
      return '\\v';
  }
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex(cp, 2)}`;
  if (cp < 0x10000) return `\\u${hex(cp, 4)}`;
  return `\\U${hex(cp, 8)}`;
}

/** Reads one character (Go rune view) at code-unit index i: [codePoint, width in code units]. */
export function runeAt(s: string, i: number): [number, number] {
  const cu = s.charCodeAt(i);
  if (cu >= 0xd800 && cu <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
    return [0x10000 + ((cu - 0xd800) << 10) + (s.charCodeAt(i + 1) - 0xdc00), 2];
  }
  return [cu, 1];
}

/** What Go's utf8.DecodeRune yields for the rune: raw bytes decode to U+FFFD. */
export function goRune(cp: number): number {
  return isRawByteUnit(cp) ? 0xfffd : cp;
}

/** The text Go's WriteRune produces for a decoded rune. */
export function runeText(cp: number): string {
  return String.fromCodePoint(goRune(cp));
}

/** Go's `b[1:]` on a line: drops one byte, so a leading multi-byte char leaves raw bytes behind. */
export function dropFirstByte(s: string): string {
  if (s.length === 0) return s;
  const cu = s.charCodeAt(0);
  if (cu < 0x80 || isRawByteUnit(cu)) return s.slice(1);
  const [cp, width] = runeAt(s, 0);
  const bytes = encodeGoBytes(String.fromCodePoint(cp));
  let rest = '';
  for (let k = 1; k < bytes.length; k++) rest += String.fromCharCode(0xdc00 + bytes[k]!);
  return rest + s.slice(width);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** String input is text already: a lone surrogate is what UTF-8 encoding would make of it, U+FFFD. */
export function toWellFormed(s: string): string {
  LONE_SURROGATE.lastIndex = 0;
  return LONE_SURROGATE.test(s) ? s.replace(LONE_SURROGATE, '\ufffd') : s;
}
