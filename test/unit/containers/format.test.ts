import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ellipsis, renderPs, statusText } from '../../../src/containers/list.js';
import { followLog, JsonLogWriter, type LogEntry } from '../../../src/containers/logs.js';
import { formatPorts } from '../../../src/containers/ports.js';
import { TemplateError } from '../../../src/images/format.js';
import { type ContainerRecord, initialState } from '../../../src/containers/record.js';

function record(over: Partial<ContainerRecord['state']> = {}): ContainerRecord {
  return {
    id: 'a'.repeat(64),
    name: 'web',
    created: '2024-01-01T00:00:00.000000000Z',
    imageId: `sha256:${'b'.repeat(64)}`,
    manifestDigest: `sha256:${'c'.repeat(64)}`,
    layers: [],
    path: 'httpd',
    args: ['-f', '-p', '8080', '-h', '/www'],
    config: {
      hostname: 'aaaaaaaaaaaa',
      user: '',
      env: [],
      entrypoint: null,
      cmd: ['httpd'],
      workingDir: '',
      stopSignal: 'SIGTERM',
      labels: {},
      exposedPorts: ['8080/tcp'],
      openStdin: false,
      image: 'busybox',
    },
    hostConfig: {
      autoRemove: false,
      networkMode: 'bridge',
      portBindings: [],
      publishAll: false,
      init: false,
      binds: [],
    },
    mounts: [],
    state: { ...initialState(), ...over },
  };
}

describe('ps formatting', () => {
  const now = Date.parse('2024-01-01T00:00:10Z');
  it('status texts', () => {
    assert.equal(
      statusText(record({ status: 'running', startedAt: '2024-01-01T00:00:07Z' }), now),
      'Up 3 seconds',
    );
    assert.equal(
      statusText(record({ status: 'exited', exitCode: 3, finishedAt: '2024-01-01T00:00:05Z' }), now),
      'Exited (3) 5 seconds ago',
    );
    assert.equal(statusText(record(), now), 'Created');
  });
  it('ellipsis and ports', () => {
    assert.equal(ellipsis('httpd -f -p 8080 -h /www', 20), 'httpd -f -p 8080 -h…');
    assert.equal(
      formatPorts(
        [{ hostIp: '0.0.0.0', hostPort: 5000, containerPort: 5000, proto: 'tcp' }],
        ['5000/tcp', '53/udp'],
      ),
      '53/udp, 0.0.0.0:5000->5000/tcp',
    );
  });
  it('renders the default table', () => {
    const rec = record({
      status: 'running',
      startedAt: '2024-01-01T00:00:07Z',
      ports: [{ hostIp: '0.0.0.0', hostPort: 5000, containerPort: 8080, proto: 'tcp' }],
    });
    const out = renderPs([rec], { all: false, quiet: false, noTrunc: false, filters: [], now });
    const lines = out.trimEnd().split('\n');
    assert.deepEqual(lines, [
      'CONTAINER ID   IMAGE     COMMAND                  CREATED          STATUS         PORTS                    NAMES',
      'aaaaaaaaaaaa   busybox   "httpd -f -p 8080 -h…"   10 seconds ago   Up 3 seconds   0.0.0.0:5000->8080/tcp   web',
    ]);
    assert.equal(
      renderPs([rec], { all: true, quiet: true, noTrunc: true, filters: [] }),
      `${'a'.repeat(64)}\n`,
    );
    assert.equal(renderPs([record()], { all: false, quiet: true, noTrunc: false, filters: [] }), '');
    assert.equal(
      renderPs([record()], { all: false, quiet: true, noTrunc: false, filters: ['status=created'] }),
      'aaaaaaaaaaaa\n',
    );
  });

  it("rejects unknown filters as the daemon does, and tells a template's execution error from its parsing", () => {
    const opts = { all: true, quiet: false, noTrunc: false };
    assert.throws(() => renderPs([], { ...opts, filters: ['bogus=1'] }), {
      name: 'SlipwayError',
      message: "Invalid filter 'bogus'",
    });
    assert.throws(() => renderPs([], { ...opts, filters: ['status=foo'] }), {
      message: "Invalid filter 'status=foo'",
    });
    assert.throws(
      () => renderPs([record()], { ...opts, filters: [], format: '{{.Foo}}' }),
      (e: unknown) =>
        e instanceof TemplateError &&
        e.phase === 'execute' &&
        e.goMessage ===
          'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type *formatter.ContainerContext',
    );
    assert.throws(
      () => renderPs([record()], { ...opts, filters: [], format: '{{.ID' }),
      (e: unknown) => e instanceof TemplateError && e.phase === 'parse',
    );
  });
});

describe('json-file log', () => {
  it('writes Docker lines and reads them back with tail', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-log-'));
    try {
      const file = join(dir, 'x-json.log');
      const w = new JsonLogWriter(file);
      w.write('stdout', Buffer.from('one\ntw'));
      w.write('stderr', Buffer.from('err\n'));
      w.write('stdout', Buffer.from('o\nthree'));
      w.close();
      const seen: LogEntry[] = [];
      await followLog(file, { follow: false, finished: () => true, onEntry: (e) => seen.push(e) });
      assert.deepEqual(
        seen.map((e) => [e.stream, e.log]),
        [
          ['stdout', 'one\n'],
          ['stderr', 'err\n'],
          ['stdout', 'two\n'],
          ['stdout', 'three'],
        ],
      );
      assert.match(seen[0]!.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      const tail: string[] = [];
      await followLog(file, {
        follow: false,
        tail: 2,
        finished: () => true,
        onEntry: (e) => tail.push(e.log),
      });
      assert.deepEqual(tail, ['two\n', 'three']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
