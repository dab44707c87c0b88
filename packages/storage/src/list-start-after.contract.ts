/**
 * The ObjectStore contract for listings that start part-way (`list(prefix,
 * { startAfter })`, with or without a delimiter; Cloud Storage's `startOffset`,
 * which is inclusive where `startAfter` is not): registered by
 * object-store.contract.ts, so every adapter passes it. On GCS the suite's
 * page size of 3 makes the listings span several pages.
 */
import { expect, it } from 'vitest';
import type { SuiteContext } from './object-store.contract.ts';
import type { FlatListOptions, ListEntry } from './object-store.ts';
import { appErrorOf, collect } from './testing/test-streams.ts';

/** The keys of the suite's tree, in key order ('.' < '/' puts `b.jpg` before `b/…`). */
const TREE = ['a.jpg', 'b.jpg', 'b/1.jpg', 'b/2.jpg', 'b/3/x.jpg', 'c.jpg', 'c/d/e.jpg', 'd.jpg'];

/** An entry as a short string: `object <key>` or `prefix <prefix>`. */
const shown = (entry: ListEntry) =>
  entry.kind === 'prefix' ? `prefix ${entry.prefix}` : `object ${entry.key}`;

/** Puts {@link TREE} under a fresh prefix; returns the prefix. */
async function fillTree(ctx: SuiteContext): Promise<string> {
  const base = ctx.prefix();
  for (const key of TREE) {
    await ctx.subject.store.put(base + key, Buffer.from(key), { contentType: 'image/jpeg' });
  }
  return base;
}

/** Registers the startAfter listing tests. */
export function listStartAfterTests(ctx: SuiteContext): void {
  const keysOf = async (prefix: string, options: FlatListOptions) =>
    (await collect(ctx.subject.store.list(prefix, options))).map((info) => info.key);

  it('lists only the keys after startAfter, never one equal to it, down every folder', async () => {
    const base = await fillTree(ctx);
    const after = (key: string) => TREE.filter((k) => base + k > key).map((k) => base + k);
    // An existing key, a string between keys, one inside a folder, one a folder's name stops at.
    for (const startAfter of ['b/1.jpg', 'b/15', 'b/3/', 'b', 'c.jpg', 'c/d/e.jpg']) {
      expect(await keysOf(base, { startAfter: base + startAfter }), startAfter).toEqual(
        after(base + startAfter),
      );
    }
    expect(await keysOf(base, { startAfter: `${base}b/1.jpg` })).toEqual(
      ['b/2.jpg', 'b/3/x.jpg', 'c.jpg', 'c/d/e.jpg', 'd.jpg'].map((k) => base + k),
    );
    expect(await keysOf(base, { startAfter: '' })).toEqual(TREE.map((k) => base + k));
    expect(await keysOf(base, { startAfter: `${base}d.jpg` })).toEqual([]);
  });

  it('walks a listing in pages, each starting after the last key of the one before, once each', async () => {
    const base = await fillTree(ctx);
    const walked: string[] = [];
    let startAfter = '';
    for (let page = 0; page <= TREE.length; page++) {
      const keys: string[] = [];
      for await (const info of ctx.subject.store.list(base, { startAfter })) {
        keys.push(info.key);
        if (keys.length === 2) break;
      }
      walked.push(...keys);
      if (keys.length < 2) break;
      startAfter = keys.at(-1) as string;
    }
    expect(walked).toEqual(TREE.map((k) => base + k));
  });

  it('lists a whole prefix after a startAfter before it, and nothing after one beyond it', async () => {
    const base = await fillTree(ctx);
    const underB = ['b/1.jpg', 'b/2.jpg', 'b/3/x.jpg'].map((k) => base + k);
    expect(await keysOf(`${base}b/`, { startAfter: `${base}a.jpg` })).toEqual(underB);
    expect(await keysOf(`${base}b/`, { startAfter: 'a' })).toEqual(underB);
    expect(await keysOf(`${base}b/`, { startAfter: `${base}b.jpg` })).toEqual(underB);
    expect(await keysOf(`${base}b/`, { startAfter: `${base}c` })).toEqual([]);
    expect(await keysOf(`${base}b/`, { startAfter: `${base}b/3/x.jpg` })).toEqual([]);
  });

  delimiterTests(ctx);
}

/** startAfter with a delimiter: a common prefix is an entry compared as its own string. */
function delimiterTests(ctx: SuiteContext): void {
  const level = async (prefix: string, startAfter: string) =>
    (await collect(ctx.subject.store.list(prefix, { delimiter: '/', startAfter }))).map(shown);

  it('lists one level after startAfter: objects and common prefixes that sort after it', async () => {
    const base = await fillTree(ctx);
    expect(await level(base, '')).toEqual([
      `object ${base}a.jpg`,
      `object ${base}b.jpg`,
      `prefix ${base}b/`,
      `object ${base}c.jpg`,
      `prefix ${base}c/`,
      `object ${base}d.jpg`,
    ]);
    expect(await level(base, `${base}b.jpg`)).toEqual([
      `prefix ${base}b/`,
      `object ${base}c.jpg`,
      `prefix ${base}c/`,
      `object ${base}d.jpg`,
    ]);
    // Equal to a common prefix, or inside one: that prefix sorts at or before it and is left out.
    const afterB = [`object ${base}c.jpg`, `prefix ${base}c/`, `object ${base}d.jpg`];
    expect(await level(base, `${base}b/`)).toEqual(afterB);
    expect(await level(base, `${base}b/2.jpg`)).toEqual(afterB);
    expect(await level(base, `${base}c/`)).toEqual([`object ${base}d.jpg`]);
    expect(await level(base, `${base}d.jpg`)).toEqual([]);
  });

  it('lists a nested level after a startAfter outside its prefix', async () => {
    const base = await fillTree(ctx);
    const levelOfB = [`object ${base}b/1.jpg`, `object ${base}b/2.jpg`, `prefix ${base}b/3/`];
    expect(await level(`${base}b/`, `${base}a`)).toEqual(levelOfB);
    expect(await level(`${base}b/`, `${base}b/1.jpg`)).toEqual(levelOfB.slice(1));
    expect(await level(`${base}b/`, `${base}c`)).toEqual([]);
  });

  it('refuses a startAfter that is not a string', async () => {
    const base = ctx.prefix();
    const bad = { startAfter: 42 } as unknown as FlatListOptions;
    const listing = collect(ctx.subject.store.list(base, bad));
    expect(await appErrorOf(listing)).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: 'Expected a well-formed string for startAfter but received 42 of type number',
    });
  });
}
