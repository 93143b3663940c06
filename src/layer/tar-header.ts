/**
 * POSIX ustar header blocks with pax extended headers, encoded and decoded by hand: pax values for
 * xattrs (`SCHILY.xattr.security.capability`) are raw bytes, which string-based tar libraries mangle.
 */
import { SlipwayError } from '../errors.js';

export const BLOCK = 512;

/** Typeflags as written on disk. */
export const TYPEFLAG = {
  file: 0x30, // '0'
  hardlink: 0x31, // '1'
  symlink: 0x32, // '2'
  char: 0x33, // '3'
  block: 0x34, // '4'
  dir: 0x35, // '5'
  fifo: 0x36, // '6'
  contiguous: 0x37, // '7'
  paxLocal: 0x78, // 'x'
  paxGlobal: 0x67, // 'g'
  gnuLongName: 0x4c, // 'L'
  gnuLongLink: 0x4b, // 'K'
} as const;

const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

/** What one header (after pax/GNU extensions are folded in) says about a member. */
export interface TarHeader {
  name: string;
  typeflag: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
}

// ---------- encoding ----------

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7e || s.charCodeAt(i) < 0x20) return false;
  return true;
}

function writeOctal(buf: Buffer, off: number, width: number, value: number): void {
  // width-1 digits then NUL, as Go's archive/tar and GNU tar write them.
  let v = Math.max(0, Math.floor(value));
  buf[off + width - 1] = 0;
  for (let i = off + width - 2; i >= off; i--) {
    buf[i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
}

function writeBase256(buf: Buffer, off: number, width: number, value: number): void {
  let v = BigInt(Math.floor(value));
  for (let i = width - 1; i > 0; i--) {
    buf[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  buf[off] = 0x80;
}

function writeString(buf: Buffer, off: number, width: number, value: string): void {
  if (value.length <= width && isAscii(value)) {
    for (let i = 0; i < value.length; i++) buf[off + i] = value.charCodeAt(i);
    return;
  }
  const bytes = Buffer.from(value, 'utf8');
  bytes.copy(buf, off, 0, Math.min(width, bytes.length));
}

/** Split a path into ustar prefix (≤155) and name (≤100) at a `/`, or undefined when impossible. */
function splitUstar(path: string): { prefix: string; name: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  if (Buffer.byteLength(path) > 256) return undefined;
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] !== '/') continue;
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (name.length === 0) continue;
    if (Buffer.byteLength(name) > 100) return undefined;
    if (Buffer.byteLength(prefix) <= 155) return { prefix, name };
  }
  return undefined;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  // The length prefix counts itself, so grow it until it is self-consistent.
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'ascii'), body]);
}

interface RawHeaderFields {
  name: string;
  prefix: string;
  typeflag: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

const USTAR_MAGIC = Buffer.from('ustar\u000000', 'latin1');

/** Writes one ustar header block at `b[off]`, which must hold 512 zero bytes. */
function rawHeaderInto(b: Buffer, off: number, f: RawHeaderFields): void {
  writeString(b, off, 100, f.name);
  writeOctal(b, off + 100, 8, f.mode & 0o7777);
  writeOctal(b, off + 108, 8, f.uid);
  writeOctal(b, off + 116, 8, f.gid);
  if (f.size > MAX_OCTAL_11) writeBase256(b, off + 124, 12, f.size);
  else writeOctal(b, off + 124, 12, f.size);
  writeOctal(b, off + 136, 12, f.mtime);
  b[off + 156] = f.typeflag;
  writeString(b, off + 157, 100, f.linkname);
  b.set(USTAR_MAGIC, off + 257);
  // uname/gname stay empty: names are a property of the host, not of the layer.
  if (f.devmajor > MAX_OCTAL_7) writeBase256(b, off + 329, 8, f.devmajor);
  else writeOctal(b, off + 329, 8, f.devmajor);
  if (f.devminor > MAX_OCTAL_7) writeBase256(b, off + 337, 8, f.devminor);
  else writeOctal(b, off + 337, 8, f.devminor);
  writeString(b, off + 345, 155, f.prefix);
  // The checksum counts its own field as eight spaces.
  let sum = 8 * 0x20;
  for (let i = off; i < off + 148; i++) sum += b[i] as number;
  for (let i = off + 156; i < off + BLOCK; i++) sum += b[i] as number;
  writeOctal(b, off + 148, 7, sum);
  b[off + 155] = 0x20;
}

function rawHeader(f: RawHeaderFields): Buffer {
  const b = Buffer.alloc(BLOCK);
  rawHeaderInto(b, 0, f);
  return b;
}

export interface EncodeInput {
  /** Member name as it goes in the archive (directories carry a trailing `/`). */
  name: string;
  typeflag: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Record<string, Buffer>;
}

/**
 * Writes the header straight into `b[off..off+512)` (zero bytes) when one ustar block can say it all:
 * ASCII names that fit, in-range numbers, no xattrs. Returns false, writing nothing, otherwise.
 */
export function encodeSingleBlockInto(b: Buffer, off: number, h: EncodeInput): boolean {
  const linkname = h.linkname ?? '';
  const mtime = Math.floor(h.mtime);
  if (
    (h.xattrs !== undefined && Object.keys(h.xattrs).length > 0) ||
    !(h.size >= 0 && h.size <= MAX_OCTAL_11) ||
    !(mtime >= 0 && mtime <= MAX_OCTAL_11) ||
    !(h.uid >= 0 && h.uid <= MAX_OCTAL_7) ||
    !(h.gid >= 0 && h.gid <= MAX_OCTAL_7) ||
    linkname.length > 100 ||
    !isAscii(linkname) ||
    !isAscii(h.name)
  ) {
    return false;
  }
  const split = splitUstar(h.name);
  if (split === undefined) return false;
  rawHeaderInto(b, off, {
    name: split.name,
    prefix: split.prefix,
    typeflag: h.typeflag,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size: h.size,
    mtime,
    linkname,
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  return true;
}

/** Header block(s) for one member: an optional pax `x` header plus its data, then the ustar header. */
export function encodeHeader(h: EncodeInput): Buffer[] {
  if (!Number.isFinite(h.mtime) || !Number.isFinite(h.size) || h.size < 0) {
    throw new SlipwayError('LAYER', `invalid tar header values for ${h.name}`);
  }
  const records: Buffer[] = [];
  const linkname = h.linkname ?? '';
  const mtime = Math.floor(h.mtime);
  let split = isAscii(h.name) ? splitUstar(h.name) : undefined;
  if (split === undefined) {
    records.push(paxRecord('path', Buffer.from(h.name, 'utf8')));
    split = { prefix: '', name: h.name };
  }
  let linkField = linkname;
  if (!isAscii(linkname) || Buffer.byteLength(linkname) > 100) {
    records.push(paxRecord('linkpath', Buffer.from(linkname, 'utf8')));
  }
  const size = h.size; // above 8 GiB the ustar field holds base-256, which GNU tar also reads
  if (size > MAX_OCTAL_11) {
    records.push(paxRecord('size', Buffer.from(String(size))));
  }
  let uid = h.uid;
  if (uid > MAX_OCTAL_7 || uid < 0) {
    records.push(paxRecord('uid', Buffer.from(String(uid))));
    uid = 0;
  }
  let gid = h.gid;
  if (gid > MAX_OCTAL_7 || gid < 0) {
    records.push(paxRecord('gid', Buffer.from(String(gid))));
    gid = 0;
  }
  let mtimeField = mtime;
  if (mtime < 0 || mtime > MAX_OCTAL_11) {
    records.push(paxRecord('mtime', Buffer.from(String(mtime))));
    mtimeField = 0;
  }
  if (h.xattrs) {
    for (const key of Object.keys(h.xattrs).sort()) {
      const value = h.xattrs[key];
      if (value === undefined) continue;
      if (key.includes('=') || key.length === 0) {
        throw new SlipwayError('LAYER', `invalid xattr name ${JSON.stringify(key)} on ${h.name}`);
      }
      records.push(paxRecord(`SCHILY.xattr.${key}`, value));
    }
  }
  // The pax record carries the real value; the ustar field gets an ASCII stand-in for old readers.
  if (!isAscii(split.name) || Buffer.byteLength(split.name) > 100) {
    split = { prefix: '', name: asciiStandIn(split.name) };
  }
  if (!isAscii(linkField) || Buffer.byteLength(linkField) > 100) linkField = asciiStandIn(linkField);

  const main = rawHeader({
    name: split.name,
    prefix: split.prefix,
    typeflag: h.typeflag,
    mode: h.mode,
    uid,
    gid,
    size,
    mtime: mtimeField,
    linkname: linkField,
    devmajor: h.devmajor ?? 0,
    devminor: h.devminor ?? 0,
  });
  if (records.length === 0) return [main];

  const data = Buffer.concat(records);
  const paxName = paxHeaderName(h.name);
  const pax = rawHeader({
    name: paxName,
    prefix: '',
    typeflag: TYPEFLAG.paxLocal,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: data.length,
    mtime: mtimeField,
    linkname: '',
    devmajor: 0,
    devminor: 0,
  });
  return [pax, data, padding(data.length), main].filter((b) => b.length > 0);
}

/** Go's archive/tar naming (`dir/PaxHeaders.0/base`), fixed so that output never depends on a pid. */
function paxHeaderName(name: string): string {
  const trimmed = name.endsWith('/') ? name.slice(0, -1) : name;
  const slash = trimmed.lastIndexOf('/');
  const dir = slash >= 0 ? trimmed.slice(0, slash + 1) : '';
  const base = slash >= 0 ? trimmed.slice(slash + 1) : trimmed;
  const ascii = `${dir}PaxHeaders.0/${base}`.replace(/[^\x20-\x7e]/g, '_');
  return ascii.slice(0, 100);
}

function asciiStandIn(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '_').slice(0, 100);
}

export function padding(size: number): Buffer {
  const rem = size % BLOCK;
  return rem === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rem);
}

/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(BLOCK * 2);

// ---------- decoding ----------

function readNumber(buf: Buffer, off: number, width: number, field: string): number {
  const first = buf[off]!;
  if (first & 0x80) {
    // base-256 (GNU/star): 0x80 positive, 0xff negative two's complement
    let v = 0n;
    for (let i = 1; i < width; i++) v = (v << 8n) | BigInt(buf[off + i]!);
    if (first === 0xff) v -= 1n << BigInt(8 * (width - 1));
    return Number(v);
  }
  const text = buf
    .toString('ascii', off, off + width)
    .replace(/[\0 ]+$/, '')
    .replace(/^[\0 ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new SlipwayError('LAYER', `corrupt tar header: bad ${field} field`);
  return Number.parseInt(text, 8);
}

function readString(buf: Buffer, off: number, width: number): string {
  let end = off;
  while (end < off + width && buf[end] !== 0) end++;
  return buf.toString('utf8', off, end);
}

export function isZeroBlock(buf: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (buf[i] !== 0) return false;
  return true;
}

/** Decode one 512-byte header block; checksum failures are corrupt input, not a crash. */
export function decodeRawHeader(buf: Buffer): TarHeader & { magic: string } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : buf[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  const stored = readNumber(buf, 148, 8, 'checksum');
  if (stored !== unsigned && stored !== signed) {
    throw new SlipwayError('LAYER', 'corrupt tar header: checksum mismatch', {
      hint: 'the layer is truncated, corrupt, or not a tar archive',
    });
  }
  const magic = buf.toString('latin1', 257, 265);
  let name = readString(buf, 0, 100);
  if (magic === 'ustar\u000000' || magic.startsWith('ustar\0')) {
    const prefix = readString(buf, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  let typeflag = buf[156]!;
  if (typeflag === 0) typeflag = TYPEFLAG.file;
  return {
    name,
    typeflag,
    mode: readNumber(buf, 100, 8, 'mode'),
    uid: readNumber(buf, 108, 8, 'uid'),
    gid: readNumber(buf, 116, 8, 'gid'),
    size: readNumber(buf, 124, 12, 'size'),
    mtime: readNumber(buf, 136, 12, 'mtime'),
    linkname: readString(buf, 157, 100),
    devmajor: readNumber(buf, 329, 8, 'devmajor'),
    devminor: readNumber(buf, 337, 8, 'devminor'),
    xattrs: new Map(),
    magic,
  };
}

/** Parse pax records; values stay bytes so binary xattrs survive. */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad the record block with NULs
    const space = data.indexOf(0x20, pos);
    if (space < 0) throw new SlipwayError('LAYER', 'corrupt pax header: missing length');
    const len = Number.parseInt(data.toString('ascii', pos, space), 10);
    if (!Number.isInteger(len) || len <= space - pos + 1 || pos + len > data.length) {
      throw new SlipwayError('LAYER', 'corrupt pax header: bad record length');
    }
    const record = data.subarray(space + 1, pos + len);
    if (record[record.length - 1] !== 0x0a) throw new SlipwayError('LAYER', 'corrupt pax header: no newline');
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw new SlipwayError('LAYER', 'corrupt pax header: record without "="');
    out.set(record.toString('utf8', 0, eq), Buffer.from(record.subarray(eq + 1, record.length - 1)));
    pos += len;
  }
  return out;
}

/** Fold pax records into a header (local records override global ones, which the caller merges first). */
export function applyPax(h: TarHeader, pax: Map<string, Buffer>): void {
  for (const [key, value] of pax) {
    const text = (): string => value.toString('utf8');
    const num = (): number => {
      const n = Number.parseFloat(text());
      if (!Number.isFinite(n)) throw new SlipwayError('LAYER', `corrupt pax header: bad ${key}`);
      return Math.floor(n);
    };
    if (key === 'path') h.name = text();
    else if (key === 'linkpath') h.linkname = text();
    else if (key === 'size') h.size = num();
    else if (key === 'uid') h.uid = num();
    else if (key === 'gid') h.gid = num();
    else if (key === 'mtime') h.mtime = num();
    else if (key.startsWith('SCHILY.xattr.')) h.xattrs.set(key.slice('SCHILY.xattr.'.length), value);
  }
}
