/**
 * The admin page's chunk size for resumable uploads
 * (src/web/assets/upload-chunk-size.js): a multiple of Cloud Storage's
 * 256 KiB unit, never over the session's chunkBytes, a quarter of the file
 * at most, and a few seconds of sending at the speed last measured — so a
 * drop loses little on a slow phone link while a fast one sends the
 * backend's size.
 */
import { describe, expect, it } from 'vitest';

interface ChunkSizeModule {
  CHUNK_UNIT: number;
  CHUNK_SECONDS: number;
  chunkSize(input: { limit: number; size: number; bytesPerSecond?: number }): number;
}

const MiB = 1024 * 1024;
const KiB = 1024;
/** The session's chunkBytes: Cloud Storage's (UPLOAD_SESSION_DEFAULTS) and the local route's (BODY_LIMITS). */
const GCS = 8 * MiB;
const LOCAL = 2 * MiB;

const load = async (): Promise<ChunkSizeModule> => {
  const path = '../src/web/assets/upload-chunk-size.js';
  return (await import(path)) as ChunkSizeModule;
};

describe('the chunk size of a resumable upload from the admin page', () => {
  it('is always a multiple of 256 KiB between 256 KiB and the session’s chunkBytes', async () => {
    const { chunkSize, CHUNK_UNIT } = await load();
    expect(CHUNK_UNIT).toBe(256 * KiB);
    for (const limit of [256 * KiB, LOCAL, GCS]) {
      for (const size of [1, 300 * KiB, 1.3 * MiB, 4_199_365, 35 * MiB, 200 * MiB]) {
        for (const bytesPerSecond of [undefined, 0, 1, 20 * KiB, 50_000, 777_777, 1e6, 1e9]) {
          const bytes = chunkSize({ limit, size, bytesPerSecond });
          const what = JSON.stringify({ limit, size, bytesPerSecond, bytes });
          expect(bytes % CHUNK_UNIT, what).toBe(0);
          expect(bytes, what).toBeGreaterThanOrEqual(CHUNK_UNIT);
          expect(bytes, what).toBeLessThanOrEqual(limit);
        }
      }
    }
  });

  it('cuts a phone photo into at least four chunks before the speed is known', async () => {
    const { chunkSize } = await load();
    expect(chunkSize({ limit: GCS, size: 4 * MiB })).toBe(1 * MiB);
    // 3.84 MB, the probe's photo: a quarter is 937.5 KiB, rounded down to the unit.
    expect(chunkSize({ limit: GCS, size: 3_840_000 })).toBe(768 * KiB);
    expect(chunkSize({ limit: LOCAL, size: 1.5 * MiB })).toBe(256 * KiB);
  });

  it('sends a large file on a fast link in the session’s chunkBytes, as before', async () => {
    const { chunkSize } = await load();
    expect(chunkSize({ limit: LOCAL, size: 35 * MiB })).toBe(LOCAL);
    expect(chunkSize({ limit: LOCAL, size: 35 * MiB, bytesPerSecond: 100 * MiB })).toBe(LOCAL);
    expect(chunkSize({ limit: GCS, size: 200 * MiB, bytesPerSecond: 10 * MiB })).toBe(GCS);
  });

  it('keeps a chunk to a few seconds of sending on a slow link', async () => {
    const { chunkSize, CHUNK_SECONDS } = await load();
    expect(CHUNK_SECONDS).toBe(5);
    // 50 KB/s, the probe's throttled phone: 250 KB in 5 s, so the 256 KiB unit.
    expect(chunkSize({ limit: GCS, size: 200 * MiB, bytesPerSecond: 50_000 })).toBe(256 * KiB);
    // 1 MB/s: 5 MB in 5 s, rounded down to 19 units (4.75 MiB).
    expect(chunkSize({ limit: GCS, size: 200 * MiB, bytesPerSecond: 1_000_000 })).toBe(
      19 * 256 * KiB,
    );
  });
});
