import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { InstructionNode } from '../../../src/dockerfile/ast.js';
import { parseInstruction, parseStages } from '../../../src/dockerfile/instructions/parse.js';
import type { Instruction } from '../../../src/dockerfile/instructions/types.js';
import { parseDockerfile } from '../../../src/dockerfile/parser.js';
import { isSlipwayError } from '../../../src/errors.js';
import { conformanceDir } from '../../helpers/paths.js';

const data = JSON.parse(readFileSync(join(conformanceDir, 'buildkit-instructions', 'cases.json'), 'utf8'));

function first(dockerfile: string): InstructionNode {
  const node = parseDockerfile(dockerfile).instructions[0];
  assert.ok(node, 'parser produced no instruction');
  return node;
}

function convert(dockerfile: string): Instruction {
  return parseInstruction(first(dockerfile));
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(isSlipwayError(e), `not a SlipwayError: ${String(e)}`);
    assert.equal(e.code, 'INSTRUCTION');
    return e.message;
  }
  assert.fail('expected an error');
}

describe('conformance: argumentCountErrors', () => {
  for (const c of data.argumentCountErrors.cases as { dockerfile: string; error: string }[]) {
    it(c.dockerfile, () =>
      assert.equal(
        errorOf(() => convert(c.dockerfile)),
        c.error,
      ),
    );
  }
  for (const c of data.argumentCountErrors.astOnly.cases as {
    instruction: string;
    args: string[];
    error: string;
  }[]) {
    it(`${c.instruction} ${JSON.stringify(c.args)} (hand-built node)`, () => {
      const node: InstructionNode = {
        ...first(`${c.instruction} a=b`),
        args: c.args,
      };
      assert.equal(
        errorOf(() => parseInstruction(node)),
        c.error,
      );
    });
  }
});

describe('conformance: errorCases', () => {
  for (const c of data.errorCases.cases as { name: string; dockerfile: string; errorContains: string }[]) {
    it(c.name, () => {
      const message = errorOf(() => convert(c.dockerfile));
      assert.ok(message.includes(c.errorContains), `${message} does not contain ${c.errorContains}`);
    });
  }
  it('error positions point at the instruction', () => {
    const ast = parseDockerfile('FROM scratch\n\nRUNN echo\n');
    try {
      parseStages(ast, { file: 'Dockerfile' });
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(isSlipwayError(e));
      assert.equal(e.format(), 'Dockerfile:3:1: unknown instruction: RUNN (did you mean RUN?)');
    }
  });
});

describe('conformance: healthcheck', () => {
  for (const c of data.healthcheck.cases as { dockerfile: string; test: string[] }[]) {
    it(c.dockerfile, () => {
      const ins = convert(c.dockerfile);
      assert.equal(ins.kind, 'healthcheck');
      assert.deepEqual(ins.health.test, c.test);
    });
  }
});

describe('conformance: durationFlags', () => {
  for (const c of data.durationFlags.cases as {
    flag: string;
    value: string;
    error: boolean;
    errorContains?: string;
  }[]) {
    it(`--${c.flag}=${c.value}`, () => {
      const df = `HEALTHCHECK --${c.flag}=${c.value} CMD true`;
      if (c.error) {
        const message = errorOf(() => convert(df));
        assert.ok(message.includes(c.errorContains ?? ''), message);
      } else {
        const ins = convert(df);
        assert.equal(ins.kind, 'healthcheck');
      }
    });
  }
});

describe('conformance: runFlagsUsed', () => {
  for (const c of data.runFlagsUsed.cases as { dockerfile: string; flagsUsed: string[] }[]) {
    it(c.dockerfile, () => {
      const ins = convert(c.dockerfile);
      assert.equal(ins.kind, 'run');
      assert.deepEqual(ins.flagsUsed, c.flagsUsed);
    });
  }
});

describe('conformance: docComments', () => {
  it('stage and ARG doc comments', () => {
    const { expect } = data.docComments;
    const parsed = parseStages(parseDockerfile(data.docComments.dockerfile));
    const stage = parsed.stages[0];
    assert.ok(stage);
    assert.equal(stage.from.comment, expect.stage0DocComment);
    assert.deepEqual(
      parsed.metaArgs.flatMap((m) => m.args.map((a) => ({ key: a.key, docComment: a.comment }))),
      expect.metaArgs,
    );
    assert.deepEqual(
      stage.commands.map((c) => ({
        type: c.name.toUpperCase(),
        args: c.kind === 'arg' ? c.args.map((a) => ({ key: a.key, docComment: a.comment })) : [],
      })),
      expect.stage0Commands,
    );
  });
});

describe('conformance: copyHeredoc', () => {
  type Case = {
    dockerfile: string;
    destPath: string;
    sourcePaths: string[];
    sourceContents: { path: string; data: string; expand: boolean }[];
  };
  for (const c of data.copyHeredoc.cases as Case[]) {
    it(JSON.stringify(c.dockerfile), () => {
      const ins = convert(c.dockerfile);
      assert.equal(ins.kind, 'copy');
      assert.equal(ins.destPath, c.destPath);
      assert.deepEqual(ins.sourcePaths, c.sourcePaths);
      assert.deepEqual(ins.sourceContents, c.sourceContents);
    });
  }
});

describe('conformance: runHeredoc', () => {
  type Case = {
    dockerfile: string;
    prependShell: boolean;
    cmdLine: string[];
    files: { name: string; data: string; chomp: boolean }[];
  };
  for (const c of data.runHeredoc.cases as Case[]) {
    it(JSON.stringify(c.dockerfile), () => {
      const ins = convert(c.dockerfile);
      assert.equal(ins.kind, 'run');
      assert.equal(ins.prependShell, c.prependShell);
      assert.deepEqual(ins.cmdLine, c.cmdLine);
      assert.deepEqual(ins.files, c.files);
    });
  }
});
