import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findSharedDir } from '@slideshow/tools/shared-dir';
import AjvModule from 'ajv';
import addFormatsModule from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { scriptsDir } from './helpers/gcloud-double.ts';

// ajv and ajv-formats are CommonJS with a `default` property; under Node's ESM
// interop the default import is module.exports, so take `.default` when present.
type AjvClass = typeof AjvModule.default;
const Ajv = ((AjvModule as unknown as { default?: AjvClass }).default ?? AjvModule) as AjvClass;
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule.default })
  .default ?? addFormatsModule) as typeof addFormatsModule.default;

const shared = findSharedDir();
if (!shared) throw new Error('../shared not found: this suite runs only where it exists');
const schemas = join(shared, 'schemas');

async function load(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  return path.endsWith('.json') ? JSON.parse(text) : parse(text);
}

describe("the Cloud Build configs against SchemaStore's cloudbuild schema", () => {
  let validate: ReturnType<InstanceType<AjvClass>['compile']>;

  beforeAll(async () => {
    // strict: false because SchemaStore schemas carry editor keywords
    // (markdownDescription…) that ajv's strict mode rejects as unknown.
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    validate = ajv.compile((await load(join(schemas, 'cloudbuild.schemastore.json'))) as object);
  });

  it('accepts every example SchemaStore says is valid, so the validator is wired right', async () => {
    const dir = join(schemas, 'cloudbuild-examples/test');
    const files = await readdir(dir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const ok = validate(await load(join(dir, file)));
      expect(ok, `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('rejects every example SchemaStore says is invalid', async () => {
    const dir = join(schemas, 'cloudbuild-examples/negative_test');
    const files = await readdir(dir);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      expect(validate(await load(join(dir, file))), file).toBe(false);
    }
  });

  it.each(['backend.cloudbuild.yaml', 'processor.cloudbuild.yaml', 'workflows.cloudbuild.yaml'])(
    'accepts cloudbuild/%s',
    async (file) => {
      const config = await load(join(scriptsDir, '../cloudbuild', file));
      const ok = validate(config);
      expect(ok, JSON.stringify(validate.errors, null, 2)).toBe(true);
    },
  );
});
