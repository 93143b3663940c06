import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlipwayError } from '../../../src/errors.js';
import { GoTemplate, goStruct, htmlEscapedJson, nilMap, nilSlice } from '../../../src/images/gotemplate.js';

const run = (src: string, data: unknown) => GoTemplate.parse(src).execute(data);

const inspect = {
  Id: 'sha256:abc',
  RepoTags: ['python-docker:latest', 'python-docker:v1.0.0'],
  Config: goStruct(
    {
      User: '',
      Env: ['PATH=/usr/bin', 'LANG=C.UTF-8'],
      Cmd: ['python3', '-m', 'flask', 'run'],
      Entrypoint: nilSlice,
      Labels: nilMap,
      ExposedPorts: { '5000/tcp': {} },
      WorkingDir: '/app',
    },
    '*container.Config',
  ),
  Size: 123456,
};

test('fields, nested fields and Go %v formatting', () => {
  assert.equal(run('{{.Id}}', inspect), 'sha256:abc');
  assert.equal(run('{{.Config.Cmd}}', inspect), '[python3 -m flask run]');
  assert.equal(run('{{.Config.Entrypoint}}|{{.Config.Labels}}', inspect), '[]|map[]');
  assert.equal(run('{{.Config.ExposedPorts}}', inspect), 'map[5000/tcp:map[]]');
  assert.equal(run('{{.Size}}', inspect), '123456');
  assert.equal(run('{{.}}', { b: 2, a: 1 }), 'map[a:1 b:2]');
  assert.equal(run('{{.Missing}}', { a: 1 }), '<no value>');
});

test('json, join, index, upper, lower, println, split, title, pad, truncate, len', () => {
  assert.equal(run('{{json .Config.Cmd}}', inspect), '["python3","-m","flask","run"]');
  assert.equal(run('{{json .Config.Entrypoint}}', inspect), 'null');
  assert.equal(run('{{join .Config.Env ","}}', inspect), 'PATH=/usr/bin,LANG=C.UTF-8');
  assert.equal(run('{{index .RepoTags 1}}', inspect), 'python-docker:v1.0.0');
  assert.equal(run('{{index .Config.ExposedPorts "5000/tcp"}}', inspect), 'map[]');
  // Labels is a map[string]string: a missing key (or no labels at all) indexes to "".
  assert.equal(run('[{{index .Config.Labels "x"}}]', inspect), '[]');
  assert.equal(run('[{{index .L "x"}}|{{index .L "a"}}]', { L: { a: 'b' } }), '[|b]');
  assert.equal(run('{{upper .Config.WorkingDir}}{{lower "AbC"}}', inspect), '/APPabc');
  assert.equal(run('{{println .Id .Size}}', inspect), 'sha256:abc 123456\n');
  assert.equal(run('{{split "a:b" ":"}}', {}), '[a b]');
  assert.equal(
    run('{{title "hello world"}}|{{pad "x" 1 2}}|{{truncate "abcdef" 3}}', {}),
    'Hello World| x  |abc',
  );
  assert.equal(run('{{len .RepoTags}}', inspect), '2');
  assert.equal(run('{{.Config.Cmd | json}}', inspect), '["python3","-m","flask","run"]');
  assert.equal(run('{{printf "%s=%d" "a" 3}}', {}), 'a=3');
});

test('json of Docker formatter contexts escapes HTML like json.Marshal', () => {
  assert.equal(run('{{json .}}', htmlEscapedJson({ Digest: '<none>' })), '{"Digest":"\\u003cnone\\u003e"}');
  assert.equal(run('{{json .}}', { Digest: '<none>' }), '{"Digest":"<none>"}');
});

test('if / else if / else, range with variables, with, trim markers', () => {
  assert.equal(run('{{if .A}}yes{{else}}no{{end}}', { A: '' }), 'no');
  assert.equal(run('{{if .A}}a{{else if .B}}b{{else}}c{{end}}', { A: 0, B: 1 }), 'b');
  assert.equal(run('{{range .L}}[{{.}}]{{end}}', { L: ['x', 'y'] }), '[x][y]');
  assert.equal(run('{{range $i, $e := .L}}{{$i}}={{$e}} {{end}}', { L: ['x', 'y'] }), '0=x 1=y ');
  assert.equal(run('{{range $k, $v := .M}}{{$k}}:{{$v}};{{end}}', { M: { b: 2, a: 1 } }), 'a:1;b:2;');
  assert.equal(run('{{range .L}}x{{else}}empty{{end}}', { L: nilSlice }), 'empty');
  assert.equal(run('{{with .C}}{{.D}}{{end}}', { C: { D: 'd' } }), 'd');
  assert.equal(run('a  {{- "b" -}}  c', {}), 'abc');
  assert.equal(run('{{range .L}}{{$.Top}}{{end}}', { L: [1, 2], Top: 't' }), 'tt');
  assert.equal(run('{{if eq .A "x"}}eq{{end}}{{if not .B}}!b{{end}}', { A: 'x', B: false }), 'eq!b');
  assert.equal(run('{{/* comment */}}ok', {}), 'ok');
});

test('struct contexts reject unknown fields with Go’s message', () => {
  const row = goStruct({ ID: 'abc' }, '*formatter.imageContext');
  assert.throws(
    () => run('{{.ID}}\t{{.Nope}}', row),
    (e: unknown) =>
      e instanceof SlipwayError &&
      e.message ===
        'template: :1:10: executing "" at <.Nope>: can\'t evaluate field Nope in type *formatter.imageContext',
  );
});

test("missingkey=error fails on a missing map key; a nil map's keys are just missing", () => {
  const data = { Config: { Labels: nilMap, Env: ['A=1'] } };
  assert.equal(run('{{.Config.Labels.x}}|{{.Config.Nope}}', data), '<no value>|<no value>');
  const strict = (src: string) => GoTemplate.parse(src).execute(data, { missingKey: 'error' });
  assert.equal(strict('{{.Config.Env}}'), '[A=1]');
  for (const [src, message] of [
    ['{{.Nope}}', 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"'],
    // Go places a field chain at its second segment.
    ['{{.Config.Nope}}', 'template: :1:9: executing "" at <.Config.Nope>: map has no entry for key "Nope"'],
    [
      '{{.Config.Labels.x}}',
      'template: :1:9: executing "" at <.Config.Labels.x>: map has no entry for key "x"',
    ],
  ] as const) {
    assert.throws(() => strict(src), { message });
  }
});

test('parse errors', () => {
  assert.throws(() => GoTemplate.parse('{{.ID'), /unclosed action/);
  assert.throws(() => GoTemplate.parse('{{nofunc .ID}}'), /function "nofunc" not defined/);
  assert.throws(() => GoTemplate.parse('{{if .A}}x'), /unexpected EOF/);
  assert.throws(() => GoTemplate.parse('{{end}}'), /unexpected \{\{end\}\}/);
});
