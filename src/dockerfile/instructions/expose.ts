/**
 * EXPOSE port specs, as BuildKit's convert_expose.go parsePortSpecs: `[ip:][hostPort:]port
 * [-end][/tcp|udp|sctp]` → one `port/proto` key per port.
 */

export class PortSpecError extends Error {
  override name = 'PortSpecError';
}

function splitProtoPort(raw: string): { proto: string; port: string } {
  const slash = raw.indexOf('/');
  const port = slash < 0 ? raw : raw.slice(0, slash);
  const proto = (slash < 0 ? '' : raw.slice(slash + 1)).toLowerCase();
  if (port === '') throw new PortSpecError(`no port specified: ${raw}<empty>`);
  if (proto === '') return { proto: 'tcp', port };
  if (proto === 'tcp' || proto === 'udp' || proto === 'sctp') return { proto, port };
  throw new PortSpecError(`invalid proto: ${proto}`);
}

function splitParts(raw: string): { ip: string; hostPort: string; containerPort: string } {
  const parts = raw.split(':');
  const n = parts.length;
  if (n === 1) return { ip: '', hostPort: '', containerPort: parts[0] as string };
  if (n === 2) return { ip: '', hostPort: parts[0] as string, containerPort: parts[1] as string };
  return {
    ip: parts.slice(0, n - 2).join(':'),
    hostPort: parts[n - 2] as string,
    containerPort: parts[n - 1] as string,
  };
}

/** strconv.ParseUint(v, 10, 16). */
function parseUint16(v: string): number | undefined {
  if (!/^[0-9]+$/.test(v)) return undefined;
  const n = Number(v);
  return n > 65535 ? undefined : n;
}

function parsePortRange(ports: string): { start: number; end: number } | undefined {
  if (ports === '') return undefined;
  if (!ports.includes('-')) {
    const n = parseUint16(ports);
    return n === undefined ? undefined : { start: n, end: n };
  }
  const parts = ports.split('-');
  if (parts.length !== 2) return undefined;
  const start = parseUint16(parts[0] as string);
  const end = parseUint16(parts[1] as string);
  if (start === undefined || end === undefined || end < start) return undefined;
  return { start, end };
}

function isIP(ip: string): boolean {
  if (/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(ip)) {
    return ip.split('.').every((o) => Number(o) <= 255 && !(o.length > 1 && o.startsWith('0')));
  }
  return ip.includes(':') && /^[0-9a-fA-F:.]+$/.test(ip);
}

function parsePortSpec(raw: string): string[] {
  const parts = splitParts(raw);
  let ip = parts.ip;
  const { proto, port } = splitProtoPort(parts.containerPort);
  if (ip.startsWith('[')) {
    if (!ip.endsWith(']')) throw new PortSpecError(`invalid IP address ${ip}`);
    ip = ip.slice(1, -1);
  }
  if (ip !== '' && !isIP(ip)) throw new PortSpecError(`invalid IP address: ${ip}`);
  const range = parsePortRange(port);
  if (!range) throw new PortSpecError(`invalid containerPort: ${port}`);
  if (parts.hostPort !== '') {
    const host = parsePortRange(parts.hostPort);
    if (!host) throw new PortSpecError(`invalid hostPort: ${parts.hostPort}`);
    if (range.end - range.start !== host.end - host.start && range.end !== range.start) {
      throw new PortSpecError(
        `invalid ranges specified for container and host Ports: ${port} and ${parts.hostPort}`,
      );
    }
  }
  const out: string[] = [];
  for (let p = range.start; p <= range.end; p++) out.push(`${p}/${proto}`);
  return out;
}

/** All `port/proto` keys the specs expose, in order (duplicates kept, as BuildKit's list). */
export function parsePortSpecs(specs: readonly string[]): string[] {
  return specs.flatMap((s) => parsePortSpec(s));
}
