// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variable syntax, not JS templates
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyChmod, parseChmod } from '../../../src/dockerfile/chmod.js';
import { formatGoDuration, parseGoDuration } from '../../../src/dockerfile/duration.js';
import { BFlags } from '../../../src/dockerfile/instructions/bflag.js';
import { parsePortSpecs } from '../../../src/dockerfile/instructions/expose.js';
import {
  csvFields,
  parseDevice,
  parseMount,
  ramInBytes,
} from '../../../src/dockerfile/instructions/mount.js';
import { handleJSONArgs } from '../../../src/dockerfile/instructions/parse.js';
import { formatPlatform, parsePlatform } from '../../../src/dockerfile/instructions/platform.js';
import { suggest } from '../../../src/dockerfile/instructions/suggest.js';
import { conformanceDir } from '../../helpers/paths.js';

interface BuilderFlagCase {
  declare: [string, 'string' | 'bool', string | boolean][];
  args: string[];
  ok: boolean;
  values?: Record<string, string | boolean>;
  used?: string[];
}

const cases = JSON.parse(
  readFileSync(join(conformanceDir, 'buildkit-instructions', 'cases.json'), 'utf8'),
) as {
  builderFlags: { cases: BuilderFlagCase[] };
  handleJSONArgs: { cases: { args: string[]; json: boolean; expected: string[] }[] };
};

describe('conformance: builderFlags', () => {
  for (const [i, c] of cases.builderFlags.cases.entries()) {
    it(`case ${i}: ${c.args.join(' ') || '(none)'}`, () => {
      const bf = new BFlags(c.args);
      const flags = new Map(
        c.declare.map(([name, type, def]) => [
          name,
          type === 'bool' ? bf.addBool(name, def === true) : bf.addString(name, String(def)),
        ]),
      );
      if (!c.ok) {
        assert.throws(() => bf.parse());
        return;
      }
      bf.parse();
      for (const [name, want] of Object.entries(c.values ?? {})) {
        const flag = flags.get(name);
        assert.ok(flag);
        assert.equal(typeof want === 'boolean' ? flag.isTrue : flag.value, want, name);
      }
      if (c.used) assert.deepEqual(bf.usedNames(), c.used);
    });
  }
});

describe('conformance: handleJSONArgs', () => {
  for (const [i, c] of cases.handleJSONArgs.cases.entries()) {
    it(`case ${i}`, () => assert.deepEqual(handleJSONArgs(c.args, c.json), c.expected));
  }
});

describe('flag errors', () => {
  it('unknown flag with suggestion', () => {
    const bf = new BFlags(['--form=build']);
    bf.addString('from', '');
    bf.addString('chown', '');
    assert.throws(() => bf.parse(), { message: 'unknown flag: --form (did you mean from?)' });
  });
  it('duplicate and repeatable flags', () => {
    const bf = new BFlags(['--from=a', '--from=b']);
    bf.addString('from', '');
    assert.throws(() => bf.parse(), { message: 'duplicate flag specified: --from' });
    const rep = new BFlags(['--exclude=a', '--exclude=b']);
    const ex = rep.addStrings('exclude');
    rep.parse();
    assert.deepEqual(ex.values, ['a', 'b']);
  });
});

describe('Go durations', () => {
  it('parses like time.ParseDuration', () => {
    assert.equal(parseGoDuration('1m30s'), 90_000_000_000n);
    assert.equal(parseGoDuration('500ms'), 500_000_000n);
    assert.equal(parseGoDuration('1.5h'), 5_400_000_000_000n);
    assert.equal(parseGoDuration('0'), 0n);
    assert.equal(parseGoDuration('-2s'), -2_000_000_000n);
    assert.equal(parseGoDuration('1µs'), 1000n);
    assert.equal(parseGoDuration('.5s'), 500_000_000n);
  });
  it('fails with Go messages', () => {
    assert.throws(() => parseGoDuration('abc'), { message: 'time: invalid duration "abc"' });
    assert.throws(() => parseGoDuration('10'), { message: 'time: missing unit in duration "10"' });
    assert.throws(() => parseGoDuration('1x'), { message: 'time: unknown unit "x" in duration "1x"' });
    assert.throws(() => parseGoDuration(''), { message: 'time: invalid duration ""' });
    assert.throws(() => parseGoDuration('3000000h'), { message: 'time: invalid duration "3000000h"' });
  });
  it('formats like Duration.String', () => {
    assert.equal(formatGoDuration(0n), '0s');
    assert.equal(formatGoDuration(300_000_000_000n), '5m0s');
    assert.equal(formatGoDuration(90_000_000_000n), '1m30s');
    assert.equal(formatGoDuration(1_500_000n), '1.5ms');
    assert.equal(formatGoDuration(3_723_500_000_000n), '1h2m3.5s');
    assert.equal(formatGoDuration(42n), '42ns');
    assert.equal(formatGoDuration(1500n), '1.5µs');
  });
});

describe('chmod', () => {
  it('octal up to 07777', () => {
    assert.deepEqual(parseChmod('755'), { kind: 'octal', mode: 0o755 });
    assert.deepEqual(parseChmod('0644'), { kind: 'octal', mode: 0o644 });
    assert.equal(parseChmod('10000'), undefined);
    assert.equal(parseChmod('64a'), undefined);
    assert.equal(parseChmod('89'), undefined);
  });
  it('symbolic forms', () => {
    const spec = parseChmod('u+x,g-w');
    assert.ok(spec && spec.kind === 'symbolic');
    assert.equal(applyChmod(spec, 0o664, false), 0o744);
    const rX = parseChmod('a=rX');
    assert.ok(rX);
    assert.equal(applyChmod(rX, 0o600, false), 0o444);
    assert.equal(applyChmod(rX, 0o600, true), 0o555);
    assert.equal(applyChmod(rX, 0o700, false), 0o555);
    const copy = parseChmod('go=u');
    assert.ok(copy);
    assert.equal(applyChmod(copy, 0o750, false), 0o777);
    const plain = parseChmod('+x');
    assert.ok(plain);
    assert.equal(applyChmod(plain, 0o644, false), 0o755);
    const sticky = parseChmod('u+s,o+t');
    assert.ok(sticky);
    assert.equal(applyChmod(sticky, 0o755, true), 0o5755);
    assert.equal(parseChmod('u+q'), undefined);
    assert.equal(parseChmod('z+x'), undefined);
  });
});

describe('RUN --mount', () => {
  it('parses every option', () => {
    const m = parseMount('type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0700,uid=1000,gid=1000');
    assert.equal(m.type, 'cache');
    assert.equal(m.target, '/root/.cache');
    assert.equal(m.id, 'pip');
    assert.equal(m.sharing, 'locked');
    assert.equal(m.mode, 0o700);
    assert.equal(m.uid, 1000);
    assert.equal(m.gid, 1000);
    assert.equal(m.readOnly, false);
    const b = parseMount('src=go.sum,dst=/src/go.sum,from=build');
    assert.deepEqual(
      [b.type, b.source, b.target, b.from, b.readOnly],
      ['bind', 'go.sum', '/src/go.sum', 'build', true],
    );
    assert.equal(parseMount('type=bind,target=/x,rw').readOnly, false);
    assert.equal(parseMount('type=bind,target=/x,readwrite=true').readOnly, false);
    assert.equal(parseMount('type=cache,target=/x,ro').readOnly, true);
    const t = parseMount('type=tmpfs,target=/tmp,size=128m');
    assert.equal(t.sizeLimit, 128 * 1024 * 1024);
    const s = parseMount('type=secret,id=aws,env=AWS_KEY,required');
    assert.deepEqual([s.id, s.env, s.required, s.readOnly], ['aws', 'AWS_KEY', true, true]);
    const ssh = parseMount('type=ssh,required=true');
    assert.equal(ssh.required, true);
  });
  it('rejects what BuildKit rejects', () => {
    assert.throws(() => parseMount('type=foo'), { message: 'unsupported mount type "foo"' });
    assert.throws(() => parseMount('type=cach'), {
      message: 'unsupported mount type "cach" (did you mean cache?)',
    });
    assert.throws(() => parseMount('type=cache,sharing=none'), {
      message: 'unsupported sharing value "none"',
    });
    assert.throws(() => parseMount('type=bind,mode=0700'), {
      message: 'mode not allowed for "bind" type mounts',
    });
    assert.throws(() => parseMount('target=/x,size=1m'), {
      message: "unexpected key 'size' for mount type 'bind'",
    });
    assert.throws(() => parseMount('type=cache,required'), {
      message: "unexpected key 'required' for mount type 'cache'",
    });
    assert.throws(() => parseMount('type=secret'), {
      message: 'invalid secret mount. one of source, target required',
    });
    assert.throws(() => parseMount('type=secret,id=a,src=b'), { message: "both source and id can't be set" });
    assert.throws(() => parseMount('type=bind,sharing=shared'), {
      message: 'invalid cache sharing set for bind mount',
    });
    assert.throws(() => parseMount('target'), { message: "invalid field 'target' must be a key=value pair" });
    assert.throws(() => parseMount('targt=/x'), {
      message: "unexpected key 'targt' in 'targt=/x' (did you mean target?)",
    });
    assert.throws(() => parseMount('type=cache,mode=999'), { message: 'invalid value 999 for mode' });
    assert.throws(() => parseMount('type=cache,ro=maybe'), { message: 'invalid value for ro: maybe' });
  });
  it('expands values through the expander', () => {
    const m = parseMount('type=cache,target=$DIR,id=${ID}', (w) =>
      w.replace('$DIR', '/c').replace('${ID}', 'x'),
    );
    assert.deepEqual([m.target, m.id], ['/c', 'x']);
  });
  it('csv fields and sizes', () => {
    assert.deepEqual(csvFields('a=1,"b=2,3",c'), ['a=1', 'b=2,3', 'c']);
    assert.deepEqual(csvFields('a,'), ['a', '']);
    assert.equal(ramInBytes('1g'), 1024 ** 3);
    assert.equal(ramInBytes('512kb'), 512 * 1024);
    assert.equal(ramInBytes('100'), 100);
    assert.equal(ramInBytes('x'), undefined);
  });
  it('devices', () => {
    assert.deepEqual(parseDevice('vendor.com/gpu=all,required'), {
      name: 'vendor.com/gpu=all',
      required: true,
    });
    assert.deepEqual(parseDevice('name=foo,required=false'), { name: 'foo', required: false });
  });
});

describe('EXPOSE port specs', () => {
  it('ports, ranges and protocols', () => {
    assert.deepEqual(parsePortSpecs(['80', '53/udp', '8000-8002/tcp', '132/SCTP']), [
      '80/tcp',
      '53/udp',
      '8000/tcp',
      '8001/tcp',
      '8002/tcp',
      '132/sctp',
    ]);
    assert.deepEqual(parsePortSpecs(['127.0.0.1:8080:80']), ['80/tcp']);
  });
  it('errors', () => {
    assert.throws(() => parsePortSpecs(['80/foo']), { message: 'invalid proto: foo' });
    assert.throws(() => parsePortSpecs(['abc']), { message: 'invalid containerPort: abc' });
    assert.throws(() => parsePortSpecs(['9-1']), { message: 'invalid containerPort: 9-1' });
    assert.throws(() => parsePortSpecs(['/tcp']), { message: 'no port specified: /tcp<empty>' });
    assert.throws(() => parsePortSpecs(['70000']), { message: 'invalid containerPort: 70000' });
  });
});

describe('platforms and suggestions', () => {
  it('normalises like containerd', () => {
    const host = { os: 'linux', architecture: 'amd64' };
    assert.equal(formatPlatform(parsePlatform('linux/arm64/v8', host)), 'linux/arm64');
    assert.equal(formatPlatform(parsePlatform('linux/arm', host)), 'linux/arm/v7');
    assert.equal(formatPlatform(parsePlatform('linux/x86_64', host)), 'linux/amd64');
    assert.equal(formatPlatform(parsePlatform('arm64', host)), 'linux/arm64');
    assert.equal(formatPlatform(parsePlatform('linux', host)), 'linux/amd64');
    assert.throws(() => parsePlatform('nonsense', host));
  });
  it('suggests like util/suggest', () => {
    assert.equal(suggest('RUNN', ['RUN', 'CMD'], false), 'RUN');
    assert.equal(suggest('runn', ['RUN', 'CMD'], false), 'run');
    assert.equal(suggest('xyzzy', ['RUN', 'CMD'], false), undefined);
    assert.equal(suggest('RUN', ['RUN'], false), undefined);
  });
});
