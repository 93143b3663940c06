/** Go's *PathError text (`open /x: permission denied`) for a Node file-system error, as docker prints it. */
export function goFileError(e: NodeJS.ErrnoException): string {
  const text: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'not a directory',
    EROFS: 'read-only file system',
  };
  return `${e.syscall ?? 'open'} ${e.path ?? ''}: ${(e.code && text[e.code]) ?? e.message}`;
}
