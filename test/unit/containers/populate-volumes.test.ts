import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ContainerMount } from '../../../src/containers/record.js';
import { populateVolumes } from '../../../src/containers/rootfs.js';

const isRoot = process.getuid?.() === 0;
const base = mkdtempSync(join(tmpdir(), 'slipway-popvol-'));
after(() => rmSync(base, { recursive: true, force: true }));

function volume(name: string, destination: string, noCopy = false): ContainerMount {
  const source = join(base, 'volumes', name, '_data');
  mkdirSync(source, { recursive: true });
  return {
    type: 'volume',
    source,
    destination,
    readonly: false,
    name,
    anonymous: true,
    ...(noCopy ? { noCopy } : {}),
  };
}

describe('populateVolumes', { skip: isRoot ? false : 'needs root (chown)' }, () => {
  it("gives a new volume the image directory's owner and mode even when that directory is empty", () => {
    // RUN mkdir /data && chown web:web /data; VOLUME /data; USER web: the app must be able to write.
    const rootfs = join(base, 'rootfs-empty');
    mkdirSync(join(rootfs, 'data'), { recursive: true });
    chownSync(join(rootfs, 'data'), 1001, 1002);
    chmodSync(join(rootfs, 'data'), 0o750);
    const m = volume('empty', '/data');
    populateVolumes(rootfs, [m]);
    const st = statSync(m.source);
    assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [1001, 1002, 0o750]);
  });

  it('copies the contents and the owner of a non-empty directory, and leaves a used volume alone', () => {
    const rootfs = join(base, 'rootfs-full');
    mkdirSync(join(rootfs, 'srv'), { recursive: true });
    writeFileSync(join(rootfs, 'srv', 'seed.txt'), 'seed');
    chownSync(join(rootfs, 'srv'), 1000, 1000);
    const m = volume('full', '/srv');
    populateVolumes(rootfs, [m]);
    assert.equal(statSync(join(m.source, 'seed.txt')).size, 4);
    assert.equal(statSync(m.source).uid, 1000);

    const used = volume('used', '/srv');
    writeFileSync(join(used.source, 'mine'), 'x');
    populateVolumes(rootfs, [used]);
    assert.equal(statSync(used.source).uid, 0);
  });

  it('keeps a nocopy volume as it was', () => {
    const rootfs = join(base, 'rootfs-nocopy');
    mkdirSync(join(rootfs, 'data'), { recursive: true });
    chownSync(join(rootfs, 'data'), 1001, 1001);
    const m = volume('nocopy', '/data', true);
    populateVolumes(rootfs, [m]);
    assert.equal(statSync(m.source).uid, 0);
  });
});
