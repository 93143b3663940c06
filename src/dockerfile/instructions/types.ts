/**
 * Typed Dockerfile instructions: BuildKit's instructions package (commands.go) as a
 * discriminated union. Values are as parsed; `expandInstruction` produces the dispatch-time
 * copy with variables substituted (BuildKit expands at dispatch, against the stage's env).
 */
import type { InstructionNode, Range } from '../ast.js';
import type { ChmodSpec } from '../chmod.js';

interface Base {
  /** The instruction's source location (for ONBUILD triggers: the stage's FROM). */
  range: Range;
  /** Node.Original trimmed: BuildKit's String() of a command, used in progress names. */
  original: string;
  /** The keyword as BuildKit's Name(): lower-cased (`run`). */
  name: string;
  /** True for an ONBUILD trigger injected into a child stage. */
  onbuild?: boolean;
  /**
   * Variable names the instruction's words referenced when expanded (ShellLex `used`,
   * ARGs and ENVs alike, first use first); absent until expanded.
   */
  usedArgs?: string[];
}

export interface KeyValuePair {
  key: string;
  value: string;
  /** Legacy `ENV a b` form (no `=`). */
  noDelim: boolean;
}

export interface ArgBinding {
  key: string;
  /** undefined = declared without a default. */
  value: string | undefined;
  /** Doc comment (`# name does X` above the ARG), '' when none. */
  comment: string;
  /**
   * Set once a stage dispatched the ARG: its default with quotes removed and variables
   * substituted, even when a --build-arg overrides the value (what BuildKit's history shows).
   */
  expandedDefault?: string;
}

export interface SourceContent {
  /** The heredoc name, used as the file name. */
  path: string;
  data: string;
  /** False when the heredoc delimiter was quoted. */
  expand: boolean;
}

export interface ShellInlineFile {
  name: string;
  data: string;
  /** `<<-`: leading tabs are stripped when the script is run, not here. */
  chomp: boolean;
}

export interface HealthConfig {
  /** ["NONE"], ["CMD", ...exec] or ["CMD-SHELL", command]. */
  test: string[];
  /** Nanoseconds; 0 = use the runtime default. */
  interval: bigint;
  timeout: bigint;
  startPeriod: bigint;
  startInterval: bigint;
  retries: number;
}

export type MountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
export type MountSharing = 'shared' | 'private' | 'locked';

export interface RunMount {
  type: MountType;
  from: string;
  source: string;
  target: string;
  readOnly: boolean;
  /** tmpfs `size=` in bytes; 0 = unlimited. */
  sizeLimit: number;
  /** `id=` (cache id, secret id, ssh id). */
  id: string;
  /** '' when not given (cache defaults to shared). */
  sharing: MountSharing | '';
  required: boolean;
  /** Secret `env=NAME`; undefined when not given. */
  env: string | undefined;
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
}

export interface RunDevice {
  name: string;
  required: boolean;
}

export type RunNetwork = 'default' | 'none' | 'host';
export type RunSecurity = 'sandbox' | 'insecure';

export interface FromCmd extends Base {
  kind: 'from';
  /** The image or stage reference as written (expanded by the plan with global args). */
  baseName: string;
  /** Lower-cased `AS` name, '' when unnamed. */
  stageName: string;
  /** `--platform` as written, '' when absent. */
  platform: string;
  comment: string;
}

export interface RunCmd extends Base {
  kind: 'run';
  cmdLine: string[];
  /** Shell form: run `cmdLine` under the SHELL. */
  prependShell: boolean;
  files: ShellInlineFile[];
  /** Raw `--mount` values; parsed (with expansion) at dispatch. */
  mountSpecs: string[];
  /** Parsed mounts; null until `expandInstruction` ran (BuildKit expands them at dispatch). */
  mounts: RunMount[] | null;
  /** `from=` of each mount as parsed (no expansion allowed), '' where absent. */
  mountFroms: string[];
  network: RunNetwork;
  security: RunSecurity;
  devices: RunDevice[];
  /** Flag names given, without dashes, sorted. */
  flagsUsed: string[];
}

export interface CmdCmd extends Base {
  kind: 'cmd';
  cmdLine: string[];
  prependShell: boolean;
  files: ShellInlineFile[];
}

export interface EntrypointCmd extends Base {
  kind: 'entrypoint';
  /** Empty exec form (`ENTRYPOINT []`) resets the entrypoint. */
  cmdLine: string[];
  prependShell: boolean;
  files: ShellInlineFile[];
}

export interface LabelCmd extends Base {
  kind: 'label';
  labels: KeyValuePair[];
}

export interface MaintainerCmd extends Base {
  kind: 'maintainer';
  maintainer: string;
}

export interface ExposeCmd extends Base {
  kind: 'expose';
  /** Raw words, string-sorted as BuildKit does; expanded and validated at dispatch. */
  ports: string[];
  /** `port/proto` keys for the image config; null until expandInstruction ran. */
  exposedPorts: string[] | null;
}

export interface EnvCmd extends Base {
  kind: 'env';
  env: KeyValuePair[];
}

interface CopyLike extends Base {
  destPath: string;
  sourcePaths: string[];
  sourceContents: SourceContent[];
  chown: string;
  /** `--chmod` as written ('' when absent). */
  chmod: string;
  /** Parsed `--chmod`; set by expandInstruction (the value may use variables). */
  chmodSpec: ChmodSpec | null;
  link: boolean;
  excludePatterns: string[];
}

export interface AddCmd extends CopyLike {
  kind: 'add';
  keepGitDir: boolean;
  checksum: string;
  /** undefined = not given (archives from the context are unpacked, URLs are not). */
  unpack: boolean | undefined;
}

export interface CopyCmd extends CopyLike {
  kind: 'copy';
  /** `--from` as written: stage name, stage index, or image reference. */
  from: string;
  parents: boolean;
}

export interface VolumeCmd extends Base {
  kind: 'volume';
  volumes: string[];
}

export interface UserCmd extends Base {
  kind: 'user';
  user: string;
}

export interface WorkdirCmd extends Base {
  kind: 'workdir';
  path: string;
}

export interface ArgCmd extends Base {
  kind: 'arg';
  args: ArgBinding[];
}

export interface OnbuildCmd extends Base {
  kind: 'onbuild';
  /** The trigger text stored in the image config (heredoc bodies re-attached). */
  expression: string;
  /**
   * The trigger's syntax node; it is only turned into an instruction when a child stage
   * runs it (BuildKit does not validate triggers in the stage that declares them).
   */
  triggerNode: InstructionNode | undefined;
}

export interface StopsignalCmd extends Base {
  kind: 'stopsignal';
  signal: string;
}

export interface HealthcheckCmd extends Base {
  kind: 'healthcheck';
  health: HealthConfig;
}

export interface ShellCmd extends Base {
  kind: 'shell';
  shell: string[];
}

export type Instruction =
  | FromCmd
  | RunCmd
  | CmdCmd
  | LabelCmd
  | MaintainerCmd
  | ExposeCmd
  | EnvCmd
  | AddCmd
  | CopyCmd
  | EntrypointCmd
  | VolumeCmd
  | UserCmd
  | WorkdirCmd
  | ArgCmd
  | OnbuildCmd
  | StopsignalCmd
  | HealthcheckCmd
  | ShellCmd;

/** Every instruction that may appear inside a stage (all but FROM). */
export type Command = Exclude<Instruction, FromCmd>;

export type InstructionKind = Instruction['kind'];
