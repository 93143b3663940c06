/**
 * Docker's SIZE of a layer, measured on dockerd 20.10: a layer BuildKit built counts the bytes of its
 * regular files only (a symlink or a hard link adds nothing), while `docker import` measures the
 * unpacked tree and also counts each symlink's target length.
 */
import { type TarHeader, TYPEFLAG } from './tar-header.js';

export function regularFileBytes(h: TarHeader): number {
  const t = h.typeflag;
  return t === TYPEFLAG.file || t === TYPEFLAG.contiguous || t === 0 ? h.size : 0;
}

export function importedBytes(h: TarHeader): number {
  return h.typeflag === TYPEFLAG.symlink ? Buffer.byteLength(h.linkname) : regularFileBytes(h);
}
