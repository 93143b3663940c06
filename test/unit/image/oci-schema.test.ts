import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ociSpecDir, SchemaValidator } from './oci-schema.js';

interface Case {
  id: string;
  validator: string;
  document: string;
  expectFail: boolean;
  digest?: string;
  convertDockerMediaTypes?: boolean;
}
interface Example {
  file: string;
  line: number;
  title: string;
  mediatype: string;
  document: string;
}

const data = JSON.parse(readFileSync(join(ociSpecDir, 'validation-cases.json'), 'utf8')) as {
  cases: Case[];
  specExamples: { examples: Example[] };
  dockerMediaTypeConversion: { map: Record<string, string> };
};
const v = new SchemaValidator();

test('OCI schema validation cases (upstream Go tests) all agree on pass/fail', () => {
  const wrong: string[] = [];
  for (const c of data.cases) {
    let doc = c.document;
    if (c.convertDockerMediaTypes) {
      assert.equal(
        `sha256:${createHash('sha256').update(doc).digest('hex')}`,
        c.digest,
        `${c.id} digest vector`,
      );
      for (const [from, to] of Object.entries(data.dockerMediaTypeConversion.map))
        doc = doc.split(from).join(to);
    }
    const errs = v.validateDocument(c.validator, doc);
    if (errs.length > 0 !== c.expectFail)
      wrong.push(`${c.id}: expectFail=${c.expectFail} errors=${errs.join('; ')}`);
  }
  assert.deepEqual(wrong, []);
  assert.equal(data.cases.length, 71);
});

test('OCI spec examples all validate', () => {
  const wrong: string[] = [];
  for (const e of data.specExamples.examples) {
    const errs = v.validateDocument(e.mediatype, e.document);
    if (errs.length > 0) wrong.push(`${e.file}:${e.line} ${e.title}: ${errs.join('; ')}`);
  }
  assert.deepEqual(wrong, []);
  assert.equal(data.specExamples.examples.length, 13);
});
