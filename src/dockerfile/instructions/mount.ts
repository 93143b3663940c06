/**
 * `RUN --mount=...` and `RUN --device=...` option lists (BuildKit's commands_runmount.go,
 * commands_rundevice.go). At parse time only `from` is looked at (it may not use variables);
 * the full parse, with every value expanded, happens at dispatch.
 */

import { withSuggestion } from './suggest.js';
import type { MountSharing, MountType, RunDevice, RunMount } from './types.js';

export class MountError extends Error {
  override name = 'MountError';
}

const MOUNT_TYPES: readonly MountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const SHARING: readonly MountSharing[] = ['shared', 'private', 'locked'];
const ALL_KEYS = [
  'type',
  'from',
  'source',
  'target',
  'readonly',
  'id',
  'sharing',
  'required',
  'size',
  'mode',
  'uid',
  'gid',
  'src',
  'dst',
  'destination',
  'ro',
  'rw',
  'readwrite',
  'env',
];

/** One CSV record (go-csvvalue.Fields): commas separate, `"` quotes, `""` escapes a quote. */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  if (line === '') return [''];
  while (i <= line.length) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new MountError('extraneous or missing " in quoted-field');
        const c = line[i] as string;
        if (c === '"') {
          if (line[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += c;
        i++;
      }
      if (i < line.length && line[i] !== ',') throw new MountError('extraneous or missing " in quoted-field');
    } else {
      const end = line.indexOf(',', i);
      const stop = end < 0 ? line.length : end;
      field = line.slice(i, stop);
      if (field.includes('"')) throw new MountError('bare " in non-quoted-field');
      i = stop;
    }
    out.push(field);
    if (i >= line.length) break;
    i++; // the comma
    if (i === line.length) {
      out.push('');
      break;
    }
  }
  return out;
}

/** strconv.ParseBool. */
export function parseGoBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** strconv.ParseUint(v, base, 32) for base 8 or 10. */
function parseUint32(v: string, base: 8 | 10): number | undefined {
  const re = base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!re.test(v)) return undefined;
  const n = Number.parseInt(v, base);
  return n > 0xffffffff ? undefined : n;
}

/** docker/go-units RAMInBytes: `128m`, `1g`, `512kb`, `1.5GiB`, plain bytes; 1024-based. */
export function ramInBytes(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(v);
  if (!m) return undefined;
  const size = Number.parseFloat(m[1] ?? '');
  if (!Number.isFinite(size)) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[unit] ?? 1;
  return Math.trunc(size * mult);
}

function emptyMount(): RunMount {
  return {
    type: 'bind',
    from: '',
    source: '',
    target: '',
    readOnly: false,
    sizeLimit: 0,
    id: '',
    sharing: '',
    required: false,
    env: undefined,
    mode: undefined,
    uid: undefined,
    gid: undefined,
  };
}

/** Parse-time view of a mount: its `from`, rejecting variables there as BuildKit does. */
export function mountFrom(spec: string): string {
  let fields: string[];
  try {
    fields = csvFields(spec);
  } catch (e) {
    throw new MountError(`failed to parse csv mounts: ${(e as Error).message}`);
  }
  let from = '';
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq < 0) continue;
    if (field.slice(0, eq).toLowerCase() !== 'from') continue;
    const value = field.slice(eq + 1);
    const dollar = value.indexOf('$');
    if (dollar !== -1 && dollar !== value.length - 1) {
      throw new MountError(`'from' doesn't support variable expansion, define alias stage instead`);
    }
    from = value;
  }
  return from;
}

/** Full parse of one `--mount` value; `expand` substitutes variables in each value. */
export function parseMount(spec: string, expand: (word: string) => string = (w) => w): RunMount {
  let fields: string[];
  try {
    fields = csvFields(spec);
  } catch (e) {
    throw new MountError(`failed to parse csv mounts: ${(e as Error).message}`);
  }
  const m = emptyMount();
  let roAuto = true;
  const unexpectedForType = (key: string) =>
    new MountError(`unexpected key '${key}' for mount type '${m.type}'`);
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') {
        m.readOnly = true;
        roAuto = false;
        continue;
      }
      if (key === 'readwrite' || key === 'rw') {
        m.readOnly = false;
        roAuto = false;
        continue;
      }
      if (key === 'required') {
        if (m.type === 'secret' || m.type === 'ssh') {
          m.required = true;
          continue;
        }
        throw unexpectedForType(key);
      }
      throw new MountError(`invalid field '${field}' must be a key=value pair`);
    }
    const value = expand(field.slice(eq + 1));
    switch (key) {
      case 'type': {
        const v = value.toLowerCase() as MountType;
        if (!MOUNT_TYPES.includes(v)) {
          throw new MountError(withSuggestion(`unsupported mount type "${value}"`, value, MOUNT_TYPES, true));
        }
        m.type = v;
        break;
      }
      case 'from':
        m.from = value;
        break;
      case 'source':
      case 'src':
        m.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = value;
        break;
      case 'readonly':
      case 'ro': {
        const b = parseGoBool(value);
        if (b === undefined) throw new MountError(`invalid value for ${key}: ${value}`);
        m.readOnly = b;
        roAuto = false;
        break;
      }
      case 'readwrite':
      case 'rw': {
        const b = parseGoBool(value);
        if (b === undefined) throw new MountError(`invalid value for ${key}: ${value}`);
        m.readOnly = !b;
        roAuto = false;
        break;
      }
      case 'required': {
        if (m.type !== 'secret' && m.type !== 'ssh') throw unexpectedForType(key);
        const b = parseGoBool(value);
        if (b === undefined) throw new MountError(`invalid value for ${key}: ${value}`);
        m.required = b;
        break;
      }
      case 'size': {
        if (m.type !== 'tmpfs') throw unexpectedForType(key);
        const n = ramInBytes(value);
        if (n === undefined) throw new MountError(`invalid value for ${key}: ${value}`);
        m.sizeLimit = n;
        break;
      }
      case 'id':
        m.id = value;
        break;
      case 'sharing': {
        const v = value.toLowerCase() as MountSharing;
        if (!SHARING.includes(v)) {
          throw new MountError(withSuggestion(`unsupported sharing value "${value}"`, value, SHARING, true));
        }
        m.sharing = v;
        break;
      }
      case 'mode': {
        const n = parseUint32(value, 8);
        if (n === undefined) throw new MountError(`invalid value ${value} for mode`);
        m.mode = n;
        break;
      }
      case 'uid': {
        const n = parseUint32(value, 10);
        if (n === undefined) throw new MountError(`invalid value ${value} for uid`);
        m.uid = n;
        break;
      }
      case 'gid': {
        const n = parseUint32(value, 10);
        if (n === undefined) throw new MountError(`invalid value ${value} for gid`);
        m.gid = n;
        break;
      }
      case 'env':
        m.env = value;
        break;
      default:
        throw new MountError(withSuggestion(`unexpected key '${key}' in '${field}'`, key, ALL_KEYS, true));
    }
  }
  const fileInfoAllowed = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache';
  if (!fileInfoAllowed) {
    if (m.mode !== undefined) throw new MountError(`mode not allowed for "${m.type}" type mounts`);
    if (m.uid !== undefined) throw new MountError(`uid not allowed for "${m.type}" type mounts`);
    if (m.gid !== undefined) throw new MountError(`gid not allowed for "${m.type}" type mounts`);
  }
  if (roAuto) m.readOnly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from !== '') throw new MountError('secret mount should not have a from');
    if (m.sharing !== '') throw new MountError('secret mount should not define sharing');
    if (m.source === '' && m.target === '' && m.id === '') {
      throw new MountError('invalid secret mount. one of source, target required');
    }
    if (m.source !== '' && m.id !== '') throw new MountError("both source and id can't be set");
  }
  if (m.sharing !== '' && m.type !== 'cache')
    throw new MountError(`invalid cache sharing set for ${m.type} mount`);
  return m;
}

/** One `--device` value: `name[,required[=bool]]` or `name=...`. */
export function parseDevice(spec: string): RunDevice {
  let fields: string[];
  try {
    fields = csvFields(spec);
  } catch (e) {
    throw new MountError(`failed to parse csv devices: ${(e as Error).message}`);
  }
  const d: RunDevice = { name: '', required: false };
  for (const field of fields) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const value = eq < 0 ? '' : field.slice(eq + 1);
    if (eq < 0) {
      if (key === 'required') {
        d.required = true;
        continue;
      }
      if (d.name === '') {
        d.name = field;
        continue;
      }
      throw new MountError(`invalid field '${field}' must be a key=value pair`);
    }
    if (key === 'name') {
      if (d.name !== '') throw new MountError(`device name already set to ${d.name}`);
      d.name = value;
    } else if (key === 'required') {
      const b = parseGoBool(value);
      if (b === undefined) throw new MountError(`invalid value for ${key}: ${value}`);
      d.required = b;
    } else if (d.name === '') {
      d.name = field;
    } else {
      throw new MountError(
        withSuggestion(`unexpected key '${key}' in '${field}'`, key, ['name', 'required'], true),
      );
    }
  }
  return d;
}
