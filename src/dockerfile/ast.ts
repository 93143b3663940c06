/**
 * The lossless Dockerfile syntax tree. Shapes mirror BuildKit's parser.Node so the
 * `result` dump and the typed-instruction stage agree on what an instruction's words are.
 */

/** 1-based line, 1-based column (in characters of the decoded line). */
export interface Position {
  line: number;
  column: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export interface Heredoc {
  /** The delimiter word, without quotes or `-`. */
  name: string;
  /** Body text, exactly as BuildKit hands it on (with `<<-` tabs already stripped). */
  content: string;
  /** False when the delimiter was quoted: the body is not expanded. */
  expand: boolean;
  /** True for `<<-`. */
  chomp: boolean;
  /** Where the body lines are (first body line to the delimiter line). */
  range: Range;
}

export interface Directive {
  name: string;
  value: string;
  range: Range;
}

export interface InstructionNode {
  /** The keyword lower-cased, as BuildKit's Node.Value (`from`, `run`, or an unknown word). */
  keyword: string;
  /** The keyword as written (for error messages that spell it as the user did). */
  keywordAsWritten: string;
  /** Leading `--flag` words, whole text kept (`--from=build`), `--` terminator dropped. */
  flags: string[];
  /**
   * The argument words exactly as BuildKit's Node.Next chain holds them (what the `result`
   * dump prints after the flags): for ENV/LABEL the name/value/separator triples, for
   * exec form the decoded JSON strings, for shell form one string with the rest of the line.
   */
  args: string[];
  /** For ONBUILD: the parsed trigger instruction (BuildKit's Next.Children[0]). */
  child?: InstructionNode;
  /** True when the arguments were a JSON array (exec form). */
  json: boolean;
  heredocs: Heredoc[];
  /** The instruction's source text with continuations joined, as BuildKit's Node.Original. */
  original: string;
  /** Comment lines directly above the instruction (BuildKit's PrevComment), without `#`. */
  comments: string[];
  range: Range;
}

export interface ParseWarning {
  message: string;
  range: Range;
}

export interface DockerfileAST {
  directives: Directive[];
  /** `\` by default, or what `# escape=` chose. */
  escapeToken: string;
  instructions: InstructionNode[];
  warnings: ParseWarning[];
}
