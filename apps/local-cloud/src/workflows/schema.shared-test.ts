import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findSharedDir, repoRoot } from '@slideshow/tools/shared-dir';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const shared = findSharedDir();
if (shared === undefined)
  throw new Error('../shared is missing: this suite runs only where it exists');

const workflowsDir = join(repoRoot, 'workflows');
const definitions = readdirSync(workflowsDir).filter((f) => f.endsWith('.yaml'));

// Both schemas are draft-07 ("$schema": "http://json-schema.org/draft-07/schema#"): Ajv's default class.
// Their `format: uri` checks are left out (validateFormats: false): the values are `${…}` expressions.
const schemas = ['workflows.google.json', 'workflows.schemastore.json'].map((file) => {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return [
    file,
    ajv.compile(JSON.parse(readFileSync(join(shared, 'schemas', file), 'utf8'))),
  ] as const;
});

describe('the project workflows against the public Workflows JSON schemas', () => {
  it('finds the project workflow definitions', () => {
    expect(definitions).toContain('process-image.workflows.yaml');
  });

  for (const definition of definitions) {
    for (const [schemaFile, validate] of schemas) {
      it(`validates ${definition} against ${schemaFile}`, () => {
        const document: unknown = parse(readFileSync(join(workflowsDir, definition), 'utf8'));
        const ok = validate(document);
        expect(ok, JSON.stringify(validate.errors, null, 2)).toBe(true);
      });
    }
  }

  it('rejects a definition with a misspelled step keyword, so the check has teeth', () => {
    const [, validate] = schemas[0] ?? [];
    expect(validate?.([{ step1: { asign: [{ x: 1 }] } }])).toBe(false);
  });
});
