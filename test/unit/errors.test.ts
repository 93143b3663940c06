import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlipwayError } from '../../src/errors.js';

test('errors print one line with file, line and column', () => {
  const e = new SlipwayError('PARSE', 'unknown instruction: RUNN', {
    file: 'Dockerfile',
    line: 7,
    column: 1,
  });
  assert.equal(e.format(), 'Dockerfile:7:1: unknown instruction: RUNN');
});
