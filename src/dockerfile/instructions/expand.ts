/**
 * Dispatch-time variable substitution, BuildKit's Expand/ExpandRaw methods plus the
 * expansions convert.go does itself (EXPOSE words, RUN mounts, --chmod validation).
 * What is expanded: ENV/LABEL keys and values; WORKDIR, USER, VOLUME items, STOPSIGNAL;
 * COPY/ADD sources, dest, --chown, --chmod (ADD: --checksum) and unquoted heredoc bodies
 * (raw: quotes kept); RUN --mount values; EXPOSE words (split again on whitespace).
 * Never: RUN/CMD/ENTRYPOINT/SHELL/HEALTHCHECK command lines, MAINTAINER, ONBUILD,
 * --exclude, --network, --security, --from. ARG defaults are handled by the stage scope.
 */
import { SlipwayError } from '../../errors.js';
import { chmodError, parseChmod } from '../chmod.js';
import { parsePortSpecs } from './expose.js';
import { parseMount } from './mount.js';
import type { AddCmd, Command, CopyCmd, KeyValuePair, SourceContent } from './types.js';

export interface WordExpander {
  /** One word, quotes removed, no splitting (lex ProcessWord). */
  word(w: string): string;
  /** Whitespace-splitting expansion (lex ProcessWords), for EXPOSE. */
  words(w: string): string[];
  /** Heredoc bodies: quotes are ordinary characters (lex SkipProcessQuotes). */
  raw(w: string): string;
}

function located(e: unknown, ins: Command, file: string | undefined): SlipwayError {
  const where = { file, line: ins.range.start.line, column: ins.range.start.column };
  if (e instanceof SlipwayError) {
    if (e.line !== undefined) return e;
    return new SlipwayError(e.code, e.message, { ...where, cause: e });
  }
  return new SlipwayError('INSTRUCTION', (e as Error).message, { ...where, cause: e });
}

function kvps(list: readonly KeyValuePair[], ex: WordExpander): KeyValuePair[] {
  return list.map((kv) => ({ key: ex.word(kv.key), value: ex.word(kv.value), noDelim: kv.noDelim }));
}

function contents(list: readonly SourceContent[], ex: WordExpander): SourceContent[] {
  return list.map((c) => (c.expand ? { ...c, data: ex.raw(c.data) } : { ...c }));
}

function copyLike<T extends AddCmd | CopyCmd>(ins: T, ex: WordExpander): T {
  const chown = ex.word(ins.chown);
  const chmod = ex.word(ins.chmod);
  const out: T = {
    ...ins,
    chown,
    chmod,
    sourcePaths: ins.sourcePaths.map((s) => ex.word(s)),
    destPath: ex.word(ins.destPath),
    sourceContents: contents(ins.sourceContents, ex),
    excludePatterns: [...ins.excludePatterns],
  };
  if (chmod !== '') {
    const spec = parseChmod(chmod);
    if (!spec) throw new Error(chmodError(chmod));
    out.chmodSpec = spec;
  }
  return out;
}

function expand(ins: Command, ex: WordExpander): Command {
  switch (ins.kind) {
    case 'env':
      return { ...ins, env: kvps(ins.env, ex) };
    case 'label':
      return { ...ins, labels: kvps(ins.labels, ex) };
    case 'workdir':
      return { ...ins, path: ex.word(ins.path) };
    case 'user':
      return { ...ins, user: ex.word(ins.user) };
    case 'volume':
      return { ...ins, volumes: ins.volumes.map((v) => ex.word(v)) };
    case 'stopsignal':
      return { ...ins, signal: ex.word(ins.signal) };
    case 'add': {
      const out = copyLike(ins, ex);
      out.checksum = ex.word(ins.checksum);
      return out;
    }
    case 'copy':
      return copyLike(ins, ex);
    case 'run':
      return { ...ins, mounts: ins.mountSpecs.map((m) => parseMount(m, (w) => ex.word(w))) };
    case 'expose': {
      const ports = ins.ports.flatMap((p) => ex.words(p));
      return { ...ins, ports, exposedPorts: parsePortSpecs(ports) };
    }
    default:
      return ins;
  }
}

/**
 * Returns a copy of `ins` with variables substituted through `ex`. Errors carry the
 * instruction's position.
 */
export function expandInstruction(ins: Command, ex: WordExpander, file?: string): Command {
  try {
    return expand(ins, ex);
  } catch (e) {
    throw located(e, ins, file);
  }
}
