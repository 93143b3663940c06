import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderFormat, TemplateError } from '../../../src/images/format.js';
import { ellipsis, HISTORY_HEADERS, historyFormat, historyRows } from '../../../src/images/history.js';
import { goRfc3339 } from '../../../src/images/humanize.js';
import {
  familiarMatch,
  IMAGE_HEADERS,
  type ImageEntry,
  imageFormat,
  imageRows,
} from '../../../src/images/list.js';
import type { ImageSummary } from '../../../src/store/records.js';

const NOW = Date.parse('2024-06-01T12:00:00Z');

function entry(id: string, tags: string[], agoMs: number, size: number): ImageEntry {
  const created = Math.floor((NOW - agoMs) / 1000);
  const record: ImageSummary = {
    id: `sha256:${id.padEnd(64, '0')}`,
    configDigest: `sha256:${id.padEnd(64, '0')}`,
    manifestDigest: `sha256:${'f'.repeat(64)}`,
    manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    manifestSize: 100,
    names: [],
    created: new Date(created * 1000).toISOString(),
    size,
  };
  return { record, repoTags: tags, repoDigests: [], created, size };
}

const tutorial = [
  entry('8cae92a8fbd6', ['python-docker:latest', 'python-docker:v1.0.0'], 4 * 60_000, 123_000_000),
  entry('be5d294735c6', ['python:3.8-slim-buster'], 9 * 86_400_000, 113_000_000),
];

test('docker images default table, byte for byte (tutorial output)', () => {
  const rows = imageRows(tutorial, { digests: false, trunc: true, now: NOW });
  const out = renderFormat({ format: imageFormat('', false, false), rows, headers: IMAGE_HEADERS });
  assert.equal(
    out,
    'REPOSITORY      TAG               IMAGE ID       CREATED         SIZE\n' +
      'python-docker   latest            8cae92a8fbd6   4 minutes ago   123MB\n' +
      'python-docker   v1.0.0            8cae92a8fbd6   4 minutes ago   123MB\n' +
      'python          3.8-slim-buster   be5d294735c6   9 days ago      113MB\n',
  );
});

test('empty list prints the header only; -q prints one ID per row', () => {
  assert.equal(
    renderFormat({ format: imageFormat('', false, false), rows: [], headers: IMAGE_HEADERS }),
    'REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n',
  );
  const rows = imageRows(tutorial, { digests: false, trunc: true, now: NOW });
  assert.equal(
    renderFormat({ format: imageFormat('', true, false), rows, headers: IMAGE_HEADERS }),
    '8cae92a8fbd6\n8cae92a8fbd6\nbe5d294735c6\n',
  );
});

test('dangling images show <none>; --digests and --no-trunc', () => {
  const dangling = entry('1234567890ab', [], 3600_000, 1125);
  dangling.repoDigests = [];
  const rows = imageRows([dangling], { digests: true, trunc: false, now: NOW });
  const out = renderFormat({ format: imageFormat('', false, true), rows, headers: IMAGE_HEADERS });
  const id = `sha256:1234567890ab${'0'.repeat(52)}`;
  assert.equal(
    out,
    `REPOSITORY   TAG       DIGEST    IMAGE ID${' '.repeat(id.length - 5)}CREATED             SIZE\n` +
      `<none>       <none>    <none>    ${id}   About an hour ago   1.12kB\n`,
  );
});

test('custom table formats use header functions; json keys sorted, HTML escaped', () => {
  const rows = imageRows(tutorial.slice(1), { digests: false, trunc: true, now: NOW });
  assert.equal(
    renderFormat({
      format: 'table {{.Repository}}:{{.Tag}}\\t{{json .Size}}\\t{{upper .Tag}}',
      rows,
      headers: IMAGE_HEADERS,
    }),
    'REPOSITORY:TAG           SIZE      TAG\npython:3.8-slim-buster   "113MB"   3.8-SLIM-BUSTER\n',
  );
  const json = renderFormat({ format: 'json', rows, headers: IMAGE_HEADERS });
  const obj = JSON.parse(json) as Record<string, string>;
  assert.deepEqual(Object.keys(obj), [
    'Containers',
    'CreatedAt',
    'CreatedSince',
    'Digest',
    'ID',
    'Repository',
    'SharedSize',
    'Size',
    'Tag',
    'UniqueSize',
    'VirtualSize',
  ]);
  assert.match(json, /"Digest":"\\u003cnone\\u003e"/);
  assert.equal(obj.VirtualSize, '113MB');
});

test('unknown fields are template errors', () => {
  const rows = imageRows(tutorial, { digests: false, trunc: true, now: NOW });
  assert.throws(
    () => renderFormat({ format: '{{.Nope}}', rows, headers: IMAGE_HEADERS }),
    (e: unknown) =>
      e instanceof TemplateError &&
      e.message ===
        'template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.imageContext',
  );
});

test('history: 45-column ellipsis, <missing> rows, -H=false', () => {
  assert.equal(
    ellipsis('/bin/sh -c #(nop)  ENTRYPOINT ["/bin/sh" "-c" "python3 app.py"]', 45),
    '/bin/sh -c #(nop)  ENTRYPOINT ["/bin/sh" "-c…',
  );
  const created = Math.floor((NOW - 7000) / 1000);
  const items = [
    {
      id: `sha256:cea1c9b31a0c${'0'.repeat(52)}`,
      created,
      createdBy: 'CMD ["python3" "-m" "flask" "run" "--host=0.0.0.0"]',
      comment: 'buildkit.dockerfile.v0',
      size: 0,
      tags: [],
    },
    {
      id: '<missing>',
      created,
      createdBy: 'COPY . . # buildkit',
      comment: 'buildkit.dockerfile.v0',
      size: 325,
      tags: [],
    },
  ];
  const out = renderFormat({
    format: historyFormat('', false, true),
    rows: historyRows(items, { human: true, trunc: true, now: NOW }),
    headers: HISTORY_HEADERS,
  });
  assert.equal(
    out,
    'IMAGE          CREATED         CREATED BY                                      SIZE      COMMENT\n' +
      'cea1c9b31a0c   7 seconds ago   CMD ["python3" "-m" "flask" "run" "--host=0.…   0B        buildkit.dockerfile.v0\n' +
      '<missing>      7 seconds ago   COPY . . # buildkit                             325B      buildkit.dockerfile.v0\n',
  );
  const raw = renderFormat({
    format: historyFormat('', false, false),
    rows: historyRows(items.slice(1), { human: false, trunc: true, now: NOW }),
    headers: HISTORY_HEADERS,
  });
  assert.equal(
    raw,
    `IMAGE       CREATED AT${' '.repeat(goRfc3339(created).length - 7)}CREATED BY            SIZE      COMMENT\n` +
      `<missing>   ${goRfc3339(created)}   COPY . . # buildkit   325       buildkit.dockerfile.v0\n`,
  );
});

test('reference filter matching (FamiliarMatch)', () => {
  assert.equal(familiarMatch('python-docker', 'python-docker:latest'), true);
  assert.equal(familiarMatch('python-docker:v1*', 'python-docker:v1.0.0'), true);
  assert.equal(familiarMatch('python*', 'python-docker:latest'), true);
  assert.equal(familiarMatch('localhost/*', 'localhost/python:3.11-slim'), true);
  assert.equal(familiarMatch('*', 'user/app:1'), false);
  assert.equal(familiarMatch('*/*', 'user/app:1'), true);
  assert.equal(familiarMatch('py[a-z]hon', 'python:3'), true);
  assert.throws(() => familiarMatch('[', 'x:1'), /syntax error in pattern/);
});
