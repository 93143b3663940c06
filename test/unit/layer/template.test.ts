import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { tarStream } from '../../../src/layer/tar-writer.js';
import { templateContents } from '../../../src/layer/template.js';
import type { LayerEntry } from '../../../src/layer/types.js';

function file(path: string, content: string): LayerEntry {
  const data = Buffer.from(content);
  return { path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 1, content: data };
}

const sha = (s: string) => createHash('sha256').update(s).digest();

test('a template gives a file only when path, size and content digest all match', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-template-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const long = `${'deep/'.repeat(60)}name.txt`;
  const prefixed = `${'mid/'.repeat(30)}name.txt`;
  const parts: Buffer[] = [];
  for await (const c of tarStream([
    file('a.txt', 'old!'),
    file('b.txt', 'same'),
    file(long, 'pax'),
    file(prefixed, 'prefix'),
  ]))
    parts.push(c);
  const blob = join(dir, 'layer.tar.gz');
  writeFileSync(blob, gzipSync(Buffer.concat(parts)));

  const digests = new Map([
    ['a.txt', sha('new!')],
    ['b.txt', sha('same')],
    [long, sha('pax')],
    [prefixed, sha('prefix')],
  ]);
  const contents = templateContents({ blob, digestOf: (e) => digests.get(e.path) });
  assert.ok(contents);
  const probe = (path: string, size: number) => contents({ ...file(path, ''), size })?.toString();
  assert.equal(probe('b.txt', 4), 'same');
  assert.equal(probe(prefixed, 6), 'prefix', 'names split into the ustar prefix field are found');
  assert.equal(probe('a.txt', 4), undefined, 'same size, other content');
  assert.equal(probe('b.txt', 5), undefined, 'other size');
  assert.equal(probe('c.txt', 4), undefined, 'not in the template');
  assert.equal(probe(long, 3), undefined, 'members named by pax records are left out');

  writeFileSync(blob, 'not gzip');
  assert.equal(templateContents({ blob, digestOf: () => undefined }), undefined);
  assert.equal(templateContents({ blob: join(dir, 'gone'), digestOf: () => undefined }), undefined);
});
