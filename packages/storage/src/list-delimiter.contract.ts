/**
 * The ObjectStore contract for listings with a delimiter (`list(prefix,
 * { delimiter: '/' })`, Cloud Storage's `objects.list` with `delimiter`):
 * registered by object-store.contract.ts, so every adapter passes it. On GCS
 * the suite's page size of 3 makes the listings span several pages.
 */
import { expect, it } from 'vitest';
import type { SuiteContext } from './object-store.contract.ts';
import type { ListEntry, ListOptions } from './object-store.ts';
import { appErrorOf, collect } from './testing/test-streams.ts';

const LEVEL: ListOptions = { delimiter: '/' };

/** An entry as a short string: `object <key>` or `prefix <prefix>`. */
const shown = (entry: ListEntry) =>
  entry.kind === 'prefix' ? `prefix ${entry.prefix}` : `object ${entry.key}`;

/** Puts one small object per key, each holding its own key. */
async function fill(ctx: SuiteContext, keys: string[]): Promise<void> {
  for (const key of keys) {
    await ctx.subject.store.put(key, Buffer.from(key), { contentType: 'image/jpeg' });
  }
}

/** Registers the delimiter listing tests. */
export function listDelimiterTests(ctx: SuiteContext): void {
  it('lists one level with a delimiter: objects and common prefixes in one key order', async () => {
    const base = ctx.prefix();
    await fill(
      ctx,
      [
        'c4.jpg',
        'a/1.jpg',
        'a/sub/3.jpg',
        'ab.jpg',
        'abc/4.jpg',
        'b/5.jpg',
        'b/deep/er/6.jpg',
        'a-z.jpg',
        'c1.jpg',
        'c2.jpg',
        'c3.jpg',
        'd/7.jpg',
        'e.jpg',
      ].map((k) => base + k),
    );
    const level = await collect(ctx.subject.store.list(base, LEVEL));
    // '-' < '.' < '/' < letters: a common prefix sorts as its own string among the keys.
    expect(level.map(shown)).toEqual([
      `object ${base}a-z.jpg`,
      `prefix ${base}a/`,
      `object ${base}ab.jpg`,
      `prefix ${base}abc/`,
      `prefix ${base}b/`,
      `object ${base}c1.jpg`,
      `object ${base}c2.jpg`,
      `object ${base}c3.jpg`,
      `object ${base}c4.jpg`,
      `prefix ${base}d/`,
      `object ${base}e.jpg`,
    ]);
    expect(level[0]).toMatchObject({
      kind: 'object',
      key: `${base}a-z.jpg`,
      bytes: Buffer.byteLength(`${base}a-z.jpg`),
      contentType: 'image/jpeg',
    });
    expect(level[0]?.kind === 'object' && level[0].updated).toBeInstanceOf(Date);
  });

  it('lists a nested level, and a deeper one, one level at a time', async () => {
    const base = ctx.prefix();
    await fill(
      ctx,
      ['b/5.jpg', 'b/deep/er/6.jpg', 'b/deep/er/7.jpg', 'b/deep/8.jpg', 'c/9.jpg'].map(
        (k) => base + k,
      ),
    );
    expect((await collect(ctx.subject.store.list(`${base}b/`, LEVEL))).map(shown)).toEqual([
      `object ${base}b/5.jpg`,
      `prefix ${base}b/deep/`,
    ]);
    expect((await collect(ctx.subject.store.list(`${base}b/deep/`, LEVEL))).map(shown)).toEqual([
      `object ${base}b/deep/8.jpg`,
      `prefix ${base}b/deep/er/`,
    ]);
    expect((await collect(ctx.subject.store.list(`${base}b/deep/er/`, LEVEL))).map(shown)).toEqual([
      `object ${base}b/deep/er/6.jpg`,
      `object ${base}b/deep/er/7.jpg`,
    ]);
  });

  edgeTests(ctx);
}

/** A prefix inside a name, empty levels, refused options. */
function edgeTests(ctx: SuiteContext): void {
  it('lists with a delimiter under a prefix that ends inside a name', async () => {
    const base = ctx.prefix();
    await fill(
      ctx,
      ['ab.jpg', 'ab/x.jpg', 'abc/4.jpg', 'abd.jpg', 'ac/5.jpg'].map((k) => base + k),
    );
    // The level is cut at the first '/' after the prefix, which may come right after it.
    expect((await collect(ctx.subject.store.list(`${base}ab`, LEVEL))).map(shown)).toEqual([
      `object ${base}ab.jpg`,
      `prefix ${base}ab/`,
      `prefix ${base}abc/`,
      `object ${base}abd.jpg`,
    ]);
  });

  it('lists nothing with a delimiter where no object is, including where all were deleted', async () => {
    const base = ctx.prefix();
    expect(await collect(ctx.subject.store.list(`${base}nothing-here/`, LEVEL))).toEqual([]);
    expect(await collect(ctx.subject.store.list(`${base}nothing`, LEVEL))).toEqual([]);
    await fill(ctx, [`${base}gone/a/1.jpg`, `${base}gone/b.jpg`, `${base}kept/2.jpg`]);
    await ctx.subject.store.deletePrefix(`${base}gone/`);
    expect((await collect(ctx.subject.store.list(base, LEVEL))).map(shown)).toEqual([
      `prefix ${base}kept/`,
    ]);
    expect(await collect(ctx.subject.store.list(`${base}gone/`, LEVEL))).toEqual([]);
  });

  it('refuses a delimiter other than "/" and a bad prefix with a delimiter', async () => {
    const base = ctx.prefix();
    const drain = (prefix: string, options: ListOptions) =>
      collect(ctx.subject.store.list(prefix, options));
    const other = { delimiter: '-' } as unknown as ListOptions;
    expect((await appErrorOf(drain(base, other))).code).toBe('VALIDATION_FAILED');
    expect((await appErrorOf(drain('../', LEVEL))).code).toBe('VALIDATION_FAILED');
  });
}
