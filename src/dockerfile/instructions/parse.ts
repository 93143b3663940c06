/**
 * Syntax node → typed instruction, BuildKit's instructions.ParseInstruction: argument
 * counts, flags, heredoc sources and exec/shell form, with BuildKit's error texts.
 * Variables are not expanded here; see expand.ts.
 */

import { SlipwayError } from '../../errors.js';
import type { DockerfileAST, Heredoc, InstructionNode } from '../ast.js';
import { MINIMUM_HEALTHCHECK_DURATION, parseGoDuration } from '../duration.js';
import { chompHeredocContent, parseHeredocWord } from '../parser/heredoc.js';
import { BFlags } from './bflag.js';
import { mountFrom, parseDevice } from './mount.js';
import { withSuggestion } from './suggest.js';
import type {
  AddCmd,
  ArgBinding,
  ArgCmd,
  CmdCmd,
  Command,
  CopyCmd,
  EntrypointCmd,
  EnvCmd,
  ExposeCmd,
  FromCmd,
  HealthConfig,
  HealthcheckCmd,
  Instruction,
  KeyValuePair,
  LabelCmd,
  MaintainerCmd,
  OnbuildCmd,
  RunCmd,
  RunNetwork,
  RunSecurity,
  ShellCmd,
  ShellInlineFile,
  SourceContent,
  StopsignalCmd,
  UserCmd,
  VolumeCmd,
  WorkdirCmd,
} from './types.js';

export interface ParseInstructionOptions {
  /** Dockerfile name for error positions. */
  file?: string;
}

/** A message-only failure inside one instruction; parseInstruction adds the position. */
class InstructionFailure extends Error {}

function fail(message: string): never {
  throw new InstructionFailure(message);
}

const INSTRUCTION_NAMES = [
  'ADD',
  'ARG',
  'CMD',
  'COPY',
  'ENTRYPOINT',
  'ENV',
  'EXPOSE',
  'FROM',
  'HEALTHCHECK',
  'LABEL',
  'MAINTAINER',
  'ONBUILD',
  'RUN',
  'SHELL',
  'STOPSIGNAL',
  'USER',
  'VOLUME',
  'WORKDIR',
];

interface Request {
  node: InstructionNode;
  args: string[];
  flags: BFlags;
  base: { range: InstructionNode['range']; original: string; name: string };
}

const errExactlyOne = (cmd: string) => `${cmd} requires exactly one argument`;
const errAtLeastOne = (cmd: string) => `${cmd} requires at least one argument`;
/**
 * The body as BuildKit's parser stores it: before `<<-` tab stripping. The shared AST's
 * `content` is already stripped; the parser adds the raw text as `rawContent`.
 */
function rawBody(h: Heredoc): string {
  const raw = (h as Heredoc & { rawContent?: unknown }).rawContent;
  return typeof raw === 'string' ? raw : h.content;
}

/** BuildKit's MustParseHeredoc: lexing failures mean "not a heredoc". */
function heredocWord(word: string): ReturnType<typeof parseHeredocWord> {
  try {
    return parseHeredocWord(word);
  } catch {
    return undefined;
  }
}

const errNoDestination = (cmd: string) =>
  `${cmd} requires at least two arguments, but only one was provided. Destination could not be determined`;

function parseFlags(req: Request): void {
  try {
    req.flags.parse();
  } catch (e) {
    fail((e as Error).message);
  }
}

/** BuildKit's handleJSONArgs: exec form keeps the list, shell form is one string. */
export function handleJSONArgs(args: readonly string[], json: boolean): string[] {
  if (args.length === 0) return [];
  if (json) return [...args];
  return [args.join(' ')];
}

/** A doc comment line `name text` gives `text` for `name`. */
export function getComment(comments: readonly string[], name: string): string {
  if (name === '') return '';
  for (const raw of comments) {
    const line = raw.trim();
    if (line.startsWith(`${name} `)) return line.slice(name.length + 1);
  }
  return '';
}

function parseKvps(args: readonly string[], cmd: string): KeyValuePair[] {
  if (args.length === 0) fail(errAtLeastOne(cmd));
  if (args.length % 3 !== 0) fail(`Bad input to ${cmd}, too many arguments`);
  const out: KeyValuePair[] = [];
  for (let i = 0; i < args.length; i += 3) {
    const key = args[i] as string;
    if (key === '') fail(`${cmd} names can not be blank`);
    out.push({ key, value: args[i + 1] as string, noDelim: args[i + 2] === '' });
  }
  return out;
}

function parseEnv(req: Request): EnvCmd {
  parseFlags(req);
  return { kind: 'env', ...req.base, env: parseKvps(req.args, 'ENV') };
}

function parseLabel(req: Request): LabelCmd {
  parseFlags(req);
  return { kind: 'label', ...req.base, labels: parseKvps(req.args, 'LABEL') };
}

function parseMaintainer(req: Request): MaintainerCmd {
  if (req.args.length !== 1) fail(errExactlyOne('MAINTAINER'));
  parseFlags(req);
  return { kind: 'maintainer', ...req.base, maintainer: req.args[0] as string };
}

function parseSourcesAndDest(
  req: Request,
  cmd: string,
): { destPath: string; sourcePaths: string[]; sourceContents: SourceContent[] } {
  const srcs = req.args.slice(0, -1);
  const dest = req.args[req.args.length - 1] as string;
  if (heredocWord(dest)) fail(`${cmd} cannot accept a heredoc as a destination`);
  const bodies = new Map(req.node.heredocs.map((h) => [h.name, rawBody(h)]));
  const sourcePaths: string[] = [];
  const sourceContents: SourceContent[] = [];
  for (const src of srcs) {
    const heredoc = heredocWord(src);
    if (heredoc) {
      let data = bodies.get(heredoc.name) ?? '';
      if (heredoc.chomp) data = chompHeredocContent(data);
      sourceContents.push({ path: heredoc.name, data, expand: heredoc.expand });
    } else {
      sourcePaths.push(src);
    }
  }
  return { destPath: dest, sourcePaths, sourceContents };
}

function parseAdd(req: Request): AddCmd {
  if (req.args.length < 2) fail(errNoDestination('ADD'));
  const f = req.flags;
  const exclude = f.addStrings('exclude');
  const chown = f.addString('chown', '');
  const chmod = f.addString('chmod', '');
  const link = f.addBool('link', false);
  const keepGitDir = f.addBool('keep-git-dir', false);
  const checksum = f.addString('checksum', '');
  const unpack = f.addBool('unpack', false);
  parseFlags(req);
  return {
    kind: 'add',
    ...req.base,
    ...parseSourcesAndDest(req, 'ADD'),
    chown: chown.value,
    chmod: chmod.value,
    chmodSpec: null,
    link: link.isTrue,
    excludePatterns: [...exclude.values],
    keepGitDir: keepGitDir.isTrue,
    checksum: checksum.value,
    unpack: f.isUsed('unpack') ? unpack.isTrue : undefined,
  };
}

function parseCopy(req: Request): CopyCmd {
  if (req.args.length < 2) fail(errNoDestination('COPY'));
  const f = req.flags;
  const exclude = f.addStrings('exclude');
  const parents = f.addBool('parents', false);
  const chown = f.addString('chown', '');
  const from = f.addString('from', '');
  const chmod = f.addString('chmod', '');
  const link = f.addBool('link', false);
  parseFlags(req);
  return {
    kind: 'copy',
    ...req.base,
    ...parseSourcesAndDest(req, 'COPY'),
    from: from.value,
    chown: chown.value,
    chmod: chmod.value,
    chmodSpec: null,
    link: link.isTrue,
    parents: parents.isTrue,
    excludePatterns: [...exclude.values],
  };
}

const VALID_STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

function parseFrom(req: Request): FromCmd {
  const args = req.args;
  let stageName = '';
  if (args.length === 3 && (args[1] as string).toLowerCase() === 'as') {
    stageName = (args[2] as string).toLowerCase();
    if (!VALID_STAGE_NAME.test(stageName)) {
      fail(
        `invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`,
      );
    }
  } else if (args.length !== 1) {
    fail('FROM requires either one or three arguments');
  }
  const platform = req.flags.addString('platform', '');
  parseFlags(req);
  return {
    kind: 'from',
    ...req.base,
    baseName: args[0] as string,
    stageName,
    platform: platform.value,
    comment: getComment(req.node.comments, stageName),
  };
}

function parseOnbuild(req: Request): OnbuildCmd {
  if (req.args.length === 0) fail(errAtLeastOne('ONBUILD'));
  parseFlags(req);
  const trigger = (req.args[0] as string).trim().toUpperCase();
  if (trigger === 'ONBUILD') fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (trigger === 'MAINTAINER' || trigger === 'FROM') fail(`${trigger} isn't allowed as an ONBUILD trigger`);
  let expression = req.node.original.replace(/^\s*ONBUILD\s*/i, '');
  const heredocs = req.node.heredocs.length > 0 ? req.node.heredocs : (req.node.child?.heredocs ?? []);
  for (const h of heredocs) expression += `\n${rawBody(h)}${h.name}`;
  const child = req.node.child;
  // The parser hangs a trigger's heredoc bodies on the ONBUILD node; the trigger needs them.
  const triggerNode = child && (child.heredocs.length > 0 ? child : { ...child, heredocs });
  return { kind: 'onbuild', ...req.base, expression, triggerNode };
}

function parseWorkdir(req: Request): WorkdirCmd {
  if (req.args.length !== 1) fail(errExactlyOne('WORKDIR'));
  parseFlags(req);
  return { kind: 'workdir', ...req.base, path: req.args[0] as string };
}

function shellDependent(req: Request): {
  cmdLine: string[];
  prependShell: boolean;
  files: ShellInlineFile[];
} {
  return {
    cmdLine: handleJSONArgs(req.args, req.node.json),
    prependShell: !req.node.json,
    files: req.node.heredocs.map((h) => ({ name: h.name, data: rawBody(h), chomp: h.chomp })),
  };
}

function parseRun(req: Request): RunCmd {
  const f = req.flags;
  const mount = f.addStrings('mount');
  const network = f.addString('network', 'default');
  const security = f.addString('security', 'sandbox');
  const device = f.addStrings('device');
  parseFlags(req);
  const flagsUsed = f.usedNames();
  const cmd = shellDependent(req);
  const mountSpecs = [...mount.values];
  let mountFroms: string[];
  let devices: RunCmd['devices'];
  try {
    mountFroms = mountSpecs.map((m) => mountFrom(m));
    devices = device.values.map((d) => parseDevice(d));
  } catch (e) {
    fail((e as Error).message);
  }
  if (!['default', 'none', 'host'].includes(network.value)) {
    fail(`invalid network mode ${JSON.stringify(network.value)}`);
  }
  if (!['sandbox', 'insecure'].includes(security.value)) {
    fail(`security ${JSON.stringify(security.value)} is not valid`);
  }
  return {
    kind: 'run',
    ...req.base,
    ...cmd,
    mountSpecs,
    mounts: null,
    mountFroms,
    network: network.value as RunNetwork,
    security: security.value as RunSecurity,
    devices,
    flagsUsed,
  };
}

function parseCmd(req: Request): CmdCmd {
  parseFlags(req);
  return { kind: 'cmd', ...req.base, ...shellDependent(req) };
}

function parseEntrypoint(req: Request): EntrypointCmd {
  parseFlags(req);
  return { kind: 'entrypoint', ...req.base, ...shellDependent(req) };
}

function parseOptInterval(name: string, value: string): bigint {
  if (value === '') return 0n;
  let d: bigint;
  try {
    d = parseGoDuration(value);
  } catch (e) {
    fail((e as Error).message);
  }
  if (d === 0n) return 0n;
  if (d < MINIMUM_HEALTHCHECK_DURATION) fail(`Interval ${JSON.stringify(name)} cannot be less than 1ms`);
  return d;
}

/** strconv.ParseInt(v, 10, 32) with Go's error texts. */
function parseInt32(v: string): number {
  if (!/^[+-]?[0-9]+$/.test(v)) fail(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = Number(v);
  if (n > 2147483647 || n < -2147483648) {
    fail(`strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`);
  }
  return n;
}

function parseHealthcheck(req: Request): HealthcheckCmd {
  if (req.args.length === 0) fail(errAtLeastOne('HEALTHCHECK'));
  let typ = (req.args[0] as string).toUpperCase();
  const args = req.args.slice(1);
  if (typ === 'NONE') {
    if (args.length !== 0) fail('HEALTHCHECK NONE takes no arguments');
    const health: HealthConfig = {
      test: ['NONE'],
      interval: 0n,
      timeout: 0n,
      startPeriod: 0n,
      startInterval: 0n,
      retries: 0,
    };
    return { kind: 'healthcheck', ...req.base, health };
  }
  const f = req.flags;
  const interval = f.addString('interval', '');
  const timeout = f.addString('timeout', '');
  const startPeriod = f.addString('start-period', '');
  const startInterval = f.addString('start-interval', '');
  const retries = f.addString('retries', '');
  parseFlags(req);
  if (typ !== 'CMD') fail(`Unknown type ${JSON.stringify(typ)} in HEALTHCHECK (try CMD)`);
  const cmdSlice = handleJSONArgs(args, req.node.json);
  if (cmdSlice.length === 0) fail('Missing command after HEALTHCHECK CMD');
  if (!req.node.json) typ = 'CMD-SHELL';
  const health: HealthConfig = {
    test: [typ, ...cmdSlice],
    interval: parseOptInterval('interval', interval.value),
    timeout: parseOptInterval('timeout', timeout.value),
    startPeriod: parseOptInterval('start-period', startPeriod.value),
    startInterval: parseOptInterval('start-interval', startInterval.value),
    retries: 0,
  };
  if (retries.value !== '') {
    const n = parseInt32(retries.value);
    if (n < 0) fail(`--retries cannot be negative (${n})`);
    health.retries = n;
  }
  return { kind: 'healthcheck', ...req.base, health };
}

function parseExpose(req: Request): ExposeCmd {
  if (req.args.length === 0) fail(errAtLeastOne('EXPOSE'));
  parseFlags(req);
  const ports = [...req.args].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { kind: 'expose', ...req.base, ports, exposedPorts: null };
}

function parseUser(req: Request): UserCmd {
  if (req.args.length !== 1) fail(errExactlyOne('USER'));
  parseFlags(req);
  return { kind: 'user', ...req.base, user: req.args[0] as string };
}

function parseVolume(req: Request): VolumeCmd {
  if (req.args.length === 0) fail(errAtLeastOne('VOLUME'));
  parseFlags(req);
  const volumes: string[] = [];
  for (const raw of req.args) {
    const v = raw.trim();
    if (v === '') fail('VOLUME specified can not be an empty string');
    volumes.push(v);
  }
  return { kind: 'volume', ...req.base, volumes };
}

function parseStopSignal(req: Request): StopsignalCmd {
  // BuildKit parses no flags for STOPSIGNAL; flag words are ignored.
  if (req.args.length !== 1) fail(errExactlyOne('STOPSIGNAL'));
  return { kind: 'stopsignal', ...req.base, signal: req.args[0] as string };
}

function parseArg(req: Request): ArgCmd {
  if (req.args.length < 1) fail(errAtLeastOne('ARG'));
  const args: ArgBinding[] = req.args.map((arg) => {
    // Unlike ENV, ARG splits name=value here: a name alone declares without a default.
    const eq = arg.indexOf('=');
    if (eq < 0) return { key: arg, value: undefined, comment: getComment(req.node.comments, arg) };
    const key = arg.slice(0, eq);
    if (key === '') fail('ARG names can not be blank');
    return { key, value: arg.slice(eq + 1), comment: getComment(req.node.comments, key) };
  });
  return { kind: 'arg', ...req.base, args };
}

function parseShell(req: Request): ShellCmd {
  parseFlags(req);
  const shell = handleJSONArgs(req.args, req.node.json);
  if (shell.length === 0) fail(errAtLeastOne('SHELL'));
  if (!req.node.json) fail('SHELL requires the arguments to be in JSON form');
  return { kind: 'shell', ...req.base, shell };
}

function nodeArgs(node: InstructionNode): string[] {
  // ONBUILD's arguments are its trigger: keyword first, then the trigger's own words.
  if (node.keyword === 'onbuild' && node.child) return [node.child.keyword, ...node.child.args];
  return [...node.args];
}

function dispatch(req: Request): Instruction {
  switch (req.node.keyword.toLowerCase()) {
    case 'env':
      return parseEnv(req);
    case 'maintainer':
      return parseMaintainer(req);
    case 'label':
      return parseLabel(req);
    case 'add':
      return parseAdd(req);
    case 'copy':
      return parseCopy(req);
    case 'from':
      return parseFrom(req);
    case 'onbuild':
      return parseOnbuild(req);
    case 'workdir':
      return parseWorkdir(req);
    case 'run':
      return parseRun(req);
    case 'cmd':
      return parseCmd(req);
    case 'healthcheck':
      return parseHealthcheck(req);
    case 'entrypoint':
      return parseEntrypoint(req);
    case 'expose':
      return parseExpose(req);
    case 'user':
      return parseUser(req);
    case 'volume':
      return parseVolume(req);
    case 'stopsignal':
      return parseStopSignal(req);
    case 'arg':
      return parseArg(req);
    case 'shell':
      return parseShell(req);
    default: {
      const word = req.node.keywordAsWritten || req.node.keyword;
      return fail(withSuggestion(`unknown instruction: ${word}`, word, INSTRUCTION_NAMES, false));
    }
  }
}

export function instructionError(
  message: string,
  node: Pick<InstructionNode, 'range'>,
  file?: string,
): SlipwayError {
  return new SlipwayError('INSTRUCTION', message, {
    file,
    line: node.range.start.line,
    column: node.range.start.column,
  });
}

/** Converts one syntax node into a typed instruction (FROM included). */
export function parseInstruction(node: InstructionNode, opts: ParseInstructionOptions = {}): Instruction {
  const req: Request = {
    node,
    args: nodeArgs(node),
    flags: new BFlags(node.flags),
    base: { range: node.range, original: node.original.trim(), name: node.keyword.toLowerCase() },
  };
  try {
    return dispatch(req);
  } catch (e) {
    if (e instanceof InstructionFailure) throw instructionError(e.message, node, opts.file);
    throw e;
  }
}

/** Converts a node that must be a command (not FROM), as BuildKit's ParseCommand. */
export function parseCommand(node: InstructionNode, opts: ParseInstructionOptions = {}): Command {
  const ins = parseInstruction(node, opts);
  if (ins.kind === 'from')
    throw instructionError('*instructions.Stage is not a command type', node, opts.file);
  return ins;
}

export interface ParsedStage {
  from: FromCmd;
  commands: Command[];
}

export interface ParsedDockerfile {
  /** ARGs before the first FROM. */
  metaArgs: ArgCmd[];
  stages: ParsedStage[];
}

/** BuildKit's instructions.Parse: split a Dockerfile into meta ARGs and stages. */
export function parseStages(ast: DockerfileAST, opts: ParseInstructionOptions = {}): ParsedDockerfile {
  const metaArgs: ArgCmd[] = [];
  const stages: ParsedStage[] = [];
  for (const node of ast.instructions) {
    const ins = parseInstruction(node, opts);
    if (ins.kind === 'from') {
      stages.push({ from: ins, commands: [] });
      continue;
    }
    const current = stages[stages.length - 1];
    if (!current) {
      if (ins.kind === 'arg') {
        metaArgs.push(ins);
        continue;
      }
      throw instructionError('no build stage in current context', node, opts.file);
    }
    current.commands.push(ins);
  }
  return { metaArgs, stages };
}
