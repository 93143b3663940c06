import { SlipwayError } from '../errors.js';
import { InvalidFilterError } from '../images/filters.js';
import { renderFormat } from '../images/format.js';
import { goStruct, htmlEscapedJson } from '../images/gotemplate.js';
import { goTimeString, humanDuration } from '../images/humanize.js';
import { formatPorts } from './ports.js';
import type { ContainerRecord } from './record.js';

/** docker/cli formatter.Ellipsis: at most `max` runes, the last one `…` when cut. */
export function ellipsis(s: string, max: number): string {
  const runes = [...s];
  if (runes.length <= max) return s;
  return `${runes.slice(0, Math.max(0, max - 1)).join('')}…`;
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

function since(ts: string, now: number): number {
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? 0 : Math.max(0, now - ms);
}

/** Docker's STATUS column. */
export function statusText(rec: ContainerRecord, now: number = Date.now()): string {
  switch (rec.state.status) {
    case 'running':
      return `Up ${humanDuration(since(rec.state.startedAt, now))}`;
    case 'exited':
      if (rec.state.finishedAt === ZERO_TIME) return `Exited (${rec.state.exitCode})`;
      return `Exited (${rec.state.exitCode}) ${humanDuration(since(rec.state.finishedAt, now))} ago`;
    case 'removing':
      return 'Removal In Progress';
    case 'dead':
      return 'Dead';
    default:
      return 'Created';
  }
}

export function commandLine(rec: ContainerRecord): string {
  return [rec.path, ...rec.args].join(' ');
}

export interface RowOptions {
  trunc: boolean;
  now?: number;
}

/** One `docker ps` formatter context (the fields `--format` templates read). */
export function containerRow(rec: ContainerRecord, opts: RowOptions): object {
  const now = opts.now ?? Date.now();
  const command = opts.trunc ? ellipsis(commandLine(rec), 20) : commandLine(rec);
  const labels = Object.entries(rec.config.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const mounts = rec.mounts.map((m) => {
    const name = m.type === 'volume' ? (m.name ?? '') : m.source;
    return opts.trunc ? ellipsis(name, 15) : name;
  });
  const running = rec.state.status === 'running';
  return htmlEscapedJson(
    goStruct(
      {
        Command: JSON.stringify(command),
        CreatedAt: goTimeString(Math.floor(Date.parse(rec.created) / 1000)),
        ID: opts.trunc ? rec.id.slice(0, 12) : rec.id,
        Image: rec.config.image,
        Labels: labels,
        LocalVolumes: String(rec.mounts.filter((m) => m.type === 'volume').length),
        Mounts: mounts.join(','),
        Names: rec.name,
        Networks: rec.hostConfig.networkMode,
        Ports: running ? formatPorts(rec.state.ports, rec.config.exposedPorts) : '',
        RunningFor: `${humanDuration(since(rec.created, now))} ago`,
        Size: '0B',
        State: rec.state.status,
        Status: statusText(rec, now),
      },
      '*formatter.ContainerContext',
    ),
  );
}

export const PS_HEADERS: Record<string, string> = {
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Labels: 'LABELS',
  LocalVolumes: 'LOCAL VOLUMES',
  Mounts: 'MOUNTS',
  Names: 'NAMES',
  Networks: 'NETWORKS',
  Ports: 'PORTS',
  RunningFor: 'CREATED',
  Size: 'SIZE',
  State: 'STATE',
  Status: 'STATUS',
};

export const PS_DEFAULT_FORMAT =
  'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

export interface PsOptions {
  all: boolean;
  quiet: boolean;
  noTrunc: boolean;
  format?: string;
  filters: string[];
  last?: number;
  now?: number;
}

const FILTER_KEYS = new Set(['status', 'name', 'id', 'label', 'exited', 'ancestor', 'network', 'volume']);
const STATUSES = new Set(['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead']);

function matchesFilters(rec: ContainerRecord, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    const ok = values.some((v) => {
      switch (key) {
        case 'status':
          return rec.state.status === v;
        case 'name':
          return new RegExp(v).test(rec.name);
        case 'id':
          return rec.id.startsWith(v);
        case 'exited':
          return rec.state.status === 'exited' && String(rec.state.exitCode) === v;
        case 'ancestor':
          return (
            rec.config.image === v ||
            rec.imageId === v ||
            rec.imageId.replace(/^sha256:/, '').startsWith(v.replace(/^sha256:/, ''))
          );
        case 'network':
          return rec.hostConfig.networkMode === v;
        case 'volume':
          return rec.mounts.some((m) => m.name === v || m.destination === v || m.source === v);
        case 'label': {
          const eq = v.indexOf('=');
          if (eq === -1) return Object.hasOwn(rec.config.labels, v);
          return rec.config.labels[v.slice(0, eq)] === v.slice(eq + 1);
        }
        default:
          return false;
      }
    });
    if (!ok) return false;
  }
  return true;
}

/** `docker ps` output for already reconciled records. */
export function renderPs(records: readonly ContainerRecord[], opts: PsOptions): string {
  const filters = new Map<string, string[]>();
  for (const f of opts.filters) {
    const eq = f.indexOf('=');
    if (eq === -1) throw new SlipwayError('USAGE', `bad format of filter (expected name=value)`);
    const key = f.slice(0, eq).toLowerCase();
    const value = f.slice(eq + 1);
    // The daemon rejects these, so Docker prints them as its response and exits 1.
    if (!FILTER_KEYS.has(key)) throw new InvalidFilterError(`Invalid filter '${key}'`);
    if (key === 'status' && !STATUSES.has(value)) {
      throw new InvalidFilterError(`Invalid filter 'status=${value}'`);
    }
    filters.set(key, [...(filters.get(key) ?? []), value]);
  }
  let list = [...records].sort((a, b) => b.created.localeCompare(a.created));
  const showAll = opts.all || opts.last !== undefined || filters.has('status') || filters.has('exited');
  if (!showAll) list = list.filter((r) => r.state.status === 'running');
  list = list.filter((r) => matchesFilters(r, filters));
  if (opts.last !== undefined && opts.last >= 0) list = list.slice(0, opts.last);
  const trunc = !opts.noTrunc;
  const format = opts.quiet
    ? '{{.ID}}'
    : opts.format && opts.format !== 'table'
      ? opts.format
      : PS_DEFAULT_FORMAT;
  const rows = list.map((r) =>
    containerRow(r, { trunc, ...(opts.now !== undefined ? { now: opts.now } : {}) }),
  );
  return renderFormat({ format, rows, headers: PS_HEADERS });
}
