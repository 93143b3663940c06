import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { type PreviousLayer, previousLayer } from '../../../src/layer/reuse.js';
import type { LayerBlob, LayerEntry } from '../../../src/layer/types.js';
import { writeLayer } from '../../../src/layer/write-layer.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-reuse-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Context-like files: enough of them to span several 1 MiB gzip blocks. */
function writeFiles(count: number): Map<string, string> {
  const files = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const name = `f${String(i).padStart(5, '0')}.txt`;
    const text = `${sha(String(i))} file ${i}\n`.repeat(1 + (i % 40));
    writeFileSync(join(dir, name), text);
    files.set(name, text);
  }
  return files;
}

function entriesOf(files: Map<string, string>): LayerEntry[] {
  const entries: LayerEntry[] = [
    { path: 'ctx', type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtime: 1 },
  ];
  for (const [name, text] of [...files].sort()) {
    entries.push({
      path: `ctx/${name}`,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: Buffer.byteLength(text),
      mtime: 1000,
      source: join(dir, name),
      sourceDigest: sha(text),
    });
  }
  return entries;
}

let written = 0;
async function write(
  entries: LayerEntry[],
  previous?: PreviousLayer,
): Promise<LayerBlob & { bytes: Buffer }> {
  const out = join(dir, `layer-${written++}.tgz`);
  const blob = await writeLayer(entries, out, { index: true, ...(previous ? { previous } : {}) });
  return { ...blob, bytes: readFileSync(out) };
}

function reopen(blob: LayerBlob & { bytes: Buffer }): PreviousLayer {
  assert.ok(blob.index, 'a streamed gzip layer records its index');
  const opened = previousLayer(blob.index, blob.bytes, gunzipSync(blob.bytes));
  assert.ok(opened);
  return opened;
}

test('a layer written with its previous write is byte for byte a fresh write', async () => {
  const files = writeFiles(3000);
  const first = await write(entriesOf(files));
  assert.ok(
    first.size > 0 && first.index && first.index.blocks.sizes.length > 1,
    'spans several gzip blocks',
  );

  const edits: Array<[string, (f: Map<string, string>) => void]> = [
    ['nothing changed', () => {}],
    ['one file grew', (f) => f.set('f01500.txt', `${f.get('f01500.txt')}one more line\n`)],
    ['one file, same size', (f) => f.set('f00007.txt', f.get('f00007.txt')!.replace('file', 'FILE'))],
    ['a file added at the front', (f) => f.set('a-new.txt', 'new\n')],
    ['the last file removed', (f) => f.delete('f02999.txt')],
  ];
  let previous = first;
  for (const [what, edit] of edits) {
    edit(files);
    for (const [name, text] of files) writeFileSync(join(dir, name), text);
    const fresh = await write(entriesOf(files));
    const reused = await write(entriesOf(files), reopen(previous));
    assert.equal(reused.digest, fresh.digest, `${what}: blob`);
    assert.equal(reused.diffId, fresh.diffId, `${what}: diffId`);
    assert.deepEqual(reused.index, fresh.index, `${what}: index`);
    previous = reused;
  }
});

test('a member is copied only when its content digest matches, never from a stale file', async () => {
  const files = writeFiles(2000);
  const first = await write(entriesOf(files));
  // The entries claim new content (new digest): the writer must read the file, not the old member.
  files.set('f00100.txt', 'changed\n');
  writeFileSync(join(dir, 'f00100.txt'), 'changed\n');
  const reused = await write(entriesOf(files), reopen(first));
  const tar = gunzipSync(reused.bytes);
  assert.ok(tar.includes('changed\n'));
  assert.equal(reused.diffId, sha(tar));
});

test('a previous layer is used only at its own gzip level and with its own blob and tar', async () => {
  const files = writeFiles(2000);
  const first = await write(entriesOf(files));
  assert.ok(first.index);
  const tar = gunzipSync(first.bytes);
  assert.equal(previousLayer(first.index, first.bytes.subarray(1), tar), undefined);
  assert.equal(previousLayer(first.index, first.bytes, tar.subarray(512)), undefined);
  assert.equal(previousLayer({ ...first.index, format: 0 }, first.bytes, tar), undefined);
  // At another level every block is deflated anew: the result is a fresh write at that level.
  const out = join(dir, `layer-${written++}.tgz`);
  const atLevel1 = await writeLayer(entriesOf(files), out, { gzipLevel: 1, previous: reopen(first) });
  const fresh1 = await writeLayer(entriesOf(files), `${out}.fresh`, { gzipLevel: 1 });
  assert.equal(atLevel1.digest, fresh1.digest);
  assert.notEqual(atLevel1.digest, first.digest);
});
