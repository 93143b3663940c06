/**
 * BuildKit's Node.Dump: the `result` format of its parser golden files, byte for byte
 * (keyword, `%q` flags, strconv.Quote'd arguments, ONBUILD's nested instruction).
 */
import type { DockerfileAST, InstructionNode } from './ast.js';
import { goQuote, goToLower, trimGoSpace } from './parser/gostr.js';

function dumpNode(node: InstructionNode): string {
  let str = goToLower(node.keyword);
  if (node.flags.length > 0) str += ` [${node.flags.map(goQuote).join(' ')}]`;
  // ONBUILD's Next node holds the trigger as a child, dumped as `(...)`.
  if (node.child) str += ` ${trimGoSpace(`(${dumpNode(node.child)})\n`)}`;
  for (const arg of node.args) str += ` ${goQuote(arg)}`;
  return trimGoSpace(str);
}

/** The dump without a final newline (upstream trims it; its tests add one `\n`). */
export function dumpBuildkit(ast: DockerfileAST): string {
  return trimGoSpace(ast.instructions.map((n) => `(${dumpNode(n)})\n`).join(''));
}
