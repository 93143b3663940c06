import { SlipwayError } from '../errors.js';
import { GoTemplate, HEADER_FUNCS } from './gotemplate.js';
import { tabwrite } from './tabwriter.js';

/**
 * docker/cli's formatter.Context: `table …` formats go through the tabwriter with a header row, `json` is
 * `{{json .}}` per row, anything else is a raw Go template per row. Literal `\t` / `\n` in the format are
 * turned into tab / newline, as the CLI does.
 */
export interface FormatInput {
  /** Already resolved: the command's default table format when the user gave none. */
  format: string;
  /** One context per row (goStruct objects whose fields the template reads). */
  rows: readonly object[];
  /** Field name → column header, for the `table` header row. */
  headers: Record<string, string>;
}

/** Docker prefixes template errors so; the CLI exits 1 with this line. */
export class TemplateError extends SlipwayError {
  /** `docker ps` words the two phases apart: "failed to parse template" / "failed to execute template". */
  readonly phase: 'parse' | 'execute';
  /** Go's own message (`template: :1: unclosed action`), without Docker's prefix. */
  readonly goMessage: string;

  constructor(message: string, phase: 'parse' | 'execute' = 'parse') {
    super('USAGE', `template parsing error: ${message}`);
    this.phase = phase;
    this.goMessage = message;
  }
}

export function isTableFormat(format: string): boolean {
  return format.startsWith('table');
}

export function renderFormat(input: FormatInput): string {
  const table = isTableFormat(input.format);
  let text = input.format === 'json' ? '{{json .}}' : input.format;
  if (table) text = text.slice('table'.length);
  text = text
    .replace(/^ +| +$/g, '')
    .replaceAll('\\t', '\t')
    .replaceAll('\\n', '\n');
  let tmpl: GoTemplate;
  let header: GoTemplate | undefined;
  try {
    tmpl = GoTemplate.parse(text);
    if (table) header = GoTemplate.parse(text, HEADER_FUNCS);
  } catch (e) {
    throw new TemplateError((e as Error).message);
  }
  let body = '';
  for (const row of input.rows) {
    try {
      body += `${tmpl.execute(row)}\n`;
    } catch (e) {
      throw new TemplateError((e as Error).message, 'execute');
    }
  }
  if (!header) return body;
  let head: string;
  try {
    head = header.execute({ ...input.headers });
  } catch (e) {
    throw new TemplateError((e as Error).message, 'execute');
  }
  return tabwrite(`${head}\n${body}`);
}
