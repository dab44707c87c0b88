import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFsLeaseStore } from './fs.ts';
import { runLeaseStoreContract, sampleRecord } from './lease-store.contract.ts';
import { ABSENT } from './lease-store.ts';

const dir = mkdtempSync(join(tmpdir(), 'lease-fs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

runLeaseStoreContract('fs', () => createFsLeaseStore({ path: join(dir, `lease-${n++}.db`) }));

describe('the file lease store', () => {
  it('is shared by two handles on one file, as two processes on one machine would be', async () => {
    const path = join(dir, 'shared.lease');
    const a = createFsLeaseStore({ path });
    const b = createFsLeaseStore({ path });
    const generation = await a.write(sampleRecord(1), ABSENT);
    expect((await b.read())?.generation).toBe(generation);
    await expect(b.write(sampleRecord(1, 'owner-b'), ABSENT)).rejects.toThrow(/precondition/);
    await b.write(sampleRecord(2, 'owner-b'), generation);
    expect((await a.read())?.record.holder?.owner).toBe('owner-b');
    await a.close();
    await b.close();
  });
});
