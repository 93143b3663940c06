import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAddHostFlag, parseOutputFlag } from '../../../src/build/flags.js';
import { SlipwayError } from '../../../src/errors.js';

function refused(text: string): SlipwayError {
  try {
    parseOutputFlag(text);
  } catch (e) {
    assert.ok(e instanceof SlipwayError);
    return e;
  }
  assert.fail(`--output ${text} was accepted`);
}

test('--output: buildx forms, with name= tagging the image', () => {
  assert.deepEqual(parseOutputFlag('out'), { type: 'local', dest: 'out' });
  assert.deepEqual(parseOutputFlag('-'), { type: 'tar', dest: '-' });
  assert.deepEqual(parseOutputFlag('type=tar,dest=x.tar'), { type: 'tar', dest: 'x.tar' });
  assert.deepEqual(parseOutputFlag('type=image,name=app:1,compression=uncompressed'), {
    type: 'image',
    compression: 'none',
    names: ['app:1'],
  });
  // Several names are one CSV field, quoted as buildx reads it.
  assert.deepEqual(parseOutputFlag('type=image,"name=app:1,app:latest"'), {
    type: 'image',
    names: ['app:1', 'app:latest'],
  });
  assert.deepEqual(parseOutputFlag('type=docker,dest=a.tar,name=app'), {
    type: 'docker',
    dest: 'a.tar',
    names: ['app'],
  });
});

test('--output: options slipway does not implement are refused, never ignored', () => {
  assert.match(refused('type=image,push=true').message, /option "push" is not supported yet/);
  assert.match(refused('type=local,dest=out,name=x').message, /option "name" is not supported yet/);
  assert.match(refused('type=registry').message, /not supported yet/);
  assert.match(refused('type=weird,dest=x').message, /unsupported output type "weird"/);
  assert.match(refused('type=oci').message, /needs dest=/);
  assert.match(refused('type=image,"name=a').message, /unterminated quote/);
  assert.match(refused('type=image,compression=lz4').message, /unsupported compression "lz4"/);
});

test('--add-host splits at the first colon and wants a literal IP, as docker/cli does', () => {
  assert.deepEqual(parseAddHostFlag('foo:1.2.3.4'), { host: 'foo', ip: '1.2.3.4' });
  assert.deepEqual(parseAddHostFlag('v6:::1'), { host: 'v6', ip: '::1' });
  assert.throws(() => parseAddHostFlag('foo'), /^SlipwayError: bad format for add-host: "foo"$/);
  assert.throws(() => parseAddHostFlag(':1.2.3.4'), /bad format for add-host/);
  assert.throws(() => parseAddHostFlag('foo:bar'), /invalid IP address in add-host: "bar"/);
});
