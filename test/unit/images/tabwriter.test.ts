import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tabwrite } from '../../../src/images/tabwriter.js';

test('columns are widest cell + 3, at least 10; the last cell is not padded', () => {
  const text = 'REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n';
  assert.equal(tabwrite(text), 'REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n');
  const rows =
    'REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\n' +
    'python-docker\tlatest\t8cae92a8fbd6\t3 minutes ago\t123MB\n' +
    'python\t3.8-slim-buster\tbe5d294735c6\t9 days ago\t113MB\n';
  assert.equal(
    tabwrite(rows),
    'REPOSITORY      TAG               IMAGE ID       CREATED         SIZE\n' +
      'python-docker   latest            8cae92a8fbd6   3 minutes ago   123MB\n' +
      'python          3.8-slim-buster   be5d294735c6   9 days ago      113MB\n',
  );
});

test('empty trailing cells still pad the columns before them', () => {
  assert.equal(
    tabwrite('A\tB\t\nlonger-value\tx\t\n'),
    'A              B         \nlonger-value   x         \n',
  );
});

test('column blocks: a line with fewer cells ends the block', () => {
  // Go computes widths per run of consecutive lines that have the column.
  const out = tabwrite('a\tb\nno tabs here\nlong-first-cell\tc\n');
  assert.equal(out, 'a         b\nno tabs here\nlong-first-cell   c\n');
});

test('widths count runes, not bytes', () => {
  assert.equal(tabwrite('é…\tx\nab\ty\n'), 'é…        x\nab        y\n');
});
