import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dumpBuildkit } from '../../../src/dockerfile/dump.js';
import { parseDockerfile } from '../../../src/dockerfile/parser.js';
import { SlipwayError } from '../../../src/errors.js';
import { conformanceDir } from '../../helpers/paths.js';

const INPUTS = 20_000;
/** CPU budget: catches hangs and blowups without failing on a busy machine. */
const CPU_BUDGET_MS = 20_000;
const WALL_CEILING_MS = 60_000;

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function corpus(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const set of ['buildkit-parser', 'buildkit-parser-negative']) {
    const dir = join(conformanceDir, set);
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name, 'Dockerfile');
      if (existsSync(file)) out.push(readFileSync(file));
    }
  }
  const extra = join(conformanceDir, 'buildkit-parser-extra');
  out.push(readFileSync(join(extra, 'testfile-line', 'Dockerfile')));
  const heredoc = JSON.parse(readFileSync(join(extra, 'heredoc.json'), 'utf8')) as {
    extractHeredocs: { dockerfile: string };
  };
  out.push(Buffer.from(heredoc.extractHeredocs.dockerfile));
  out.push(Buffer.from('# escape=`\nFROM a\nRUN echo `\n  b\nONBUILD COPY <<EOF /x\nhi\nEOF\n'));
  return out;
}

const SNIPPETS = [
  '\\',
  '`',
  '<<',
  '<<-',
  '<<EOF',
  '"',
  "'",
  '[',
  ']',
  '\n',
  '\r\n',
  '--',
  '=',
  '#',
  ' ',
  '\t',
  '${',
  '\\\n',
];

function mutate(input: Uint8Array, rnd: () => number): Uint8Array {
  let bytes = Array.from(input);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const steps = 1 + pick(4);
  for (let s = 0; s < steps; s++) {
    const at = pick(bytes.length + 1);
    switch (pick(7)) {
      case 0: // byte flip
        if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)] = pick(256);
        break;
      case 1: {
        const snippet = Array.from(Buffer.from(SNIPPETS[pick(SNIPPETS.length)]!));
        bytes.splice(at, 0, ...snippet);
        break;
      }
      case 2: // truncation
        bytes = bytes.slice(0, at);
        break;
      case 3: {
        // line duplication
        const text = Buffer.from(bytes).toString('latin1').split('\n');
        const i = pick(text.length);
        text.splice(i, 0, text[i]!);
        bytes = Array.from(Buffer.from(text.join('\n'), 'latin1'));
        break;
      }
      case 4: // delete a range
        bytes.splice(at, pick(16));
        break;
      case 5: // newline
        bytes.splice(at, 0, 0x0a);
        break;
      default: // a random non-ASCII or control byte
        bytes.splice(at, 0, [0x00, 0x0b, 0x0c, 0x85, 0xa0, 0xc3, 0xe2, 0xef, 0xff][pick(9)]!);
    }
  }
  return Uint8Array.from(bytes);
}

describe('parser fuzz', () => {
  it(`${INPUTS} mutated Dockerfiles parse or fail with a positioned SlipwayError`, () => {
    const seeds = corpus();
    const rnd = prng(0x5eed);
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    let parsed = 0;
    let failed = 0;
    for (let n = 0; n < INPUTS; n++) {
      const input = mutate(seeds[n % seeds.length]!, rnd);
      const one = performance.now();
      try {
        const ast = parseDockerfile(n % 2 === 0 ? input : Buffer.from(input).toString('utf8'), {
          file: 'Dockerfile',
        });
        dumpBuildkit(ast);
        JSON.stringify(ast);
        parsed++;
      } catch (e) {
        if (
          !(e instanceof SlipwayError) ||
          e.code !== 'PARSE' ||
          !(typeof e.line === 'number' && e.line >= 1)
        ) {
          assert.fail(
            `input #${n} ${JSON.stringify(Buffer.from(input).toString('latin1'))} threw ${String(e)}`,
          );
        }
        failed++;
      }
      const took = performance.now() - one;
      assert.ok(took < 2000, `input #${n} took ${took.toFixed(0)} ms`);
    }
    const wall = performance.now() - started;
    const cpu = process.cpuUsage(cpuStart);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    assert.ok(cpuMs < CPU_BUDGET_MS, `fuzz used ${cpuMs.toFixed(0)} ms of CPU`);
    assert.ok(wall < WALL_CEILING_MS, `fuzz took ${wall.toFixed(0)} ms`);
    assert.ok(parsed > 0 && failed > 0, `parsed ${parsed}, failed ${failed}`);
  });

  it('is not quadratic on pathological input', () => {
    const cases = [
      `FROM a\nRUN ${'\\\n'.repeat(20000)}x`,
      `FROM a\nRUN ${'<<A '.repeat(5000)}\n${'A\n'.repeat(5000)}`,
      `FROM a\nENV ${'a="b" '.repeat(8000)}`,
      `FROM a\nCMD [${'"x",'.repeat(8000)}"y"]`,
      `FROM a\n${'# c\n'.repeat(20000)}RUN x`,
      `FROM a\nCOPY ${'--f=1 '.repeat(8000)}a b`,
    ];
    for (const src of cases) {
      const t = performance.now();
      parseDockerfile(src);
      const took = performance.now() - t;
      assert.ok(took < 1000, `${JSON.stringify(src.slice(0, 20))}: ${took.toFixed(0)} ms`);
    }
  });
});
