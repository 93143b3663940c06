import { END_OF_ARCHIVE, encodeHeader, padding, TYPEFLAG } from '../../../src/layer/tar-header.js';

/** Members are written raw, with no path checks: this is how an attacker would build them. */
export interface Member {
  name: string;
  type?: keyof typeof TYPEFLAG;
  link?: string;
  body?: string;
  mode?: number;
}

export function makeTar(members: Member[]): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const body = Buffer.from(m.body ?? '');
    parts.push(
      ...encodeHeader({
        name: m.name,
        typeflag: TYPEFLAG[m.type ?? 'file'],
        mode: m.mode ?? (m.type === 'dir' ? 0o755 : 0o644),
        uid: 0,
        gid: 0,
        size: body.length,
        mtime: 1_600_000_000,
        linkname: m.link ?? '',
      }),
      body,
      padding(body.length),
    );
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}
