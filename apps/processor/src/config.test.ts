import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { isFinalAttempt } from './exit-policy.ts';

const base = {
  TARGET_FILE_ID: 'img-1',
  BACKEND_API_URL: 'http://127.0.0.1:9000/',
  STORAGE_URL: 'file:///tmp/store',
  CALLBACK_AUTH: 'shared-secret',
  CALLBACK_SECRET: 's3cret',
};

describe('loadConfig', () => {
  it('applies the documented defaults to a minimal local environment', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      imageId: 'img-1',
      backendUrl: 'http://127.0.0.1:9000',
      storageUrl: 'file:///tmp/store',
      maxRetries: 3,
      attempt: 0,
      taskIndex: 0,
      taskCount: 1,
      callbackAudience: 'http://127.0.0.1:9000',
      callbackDeadlineMs: 30_000,
    });
  });

  it('turns GCS_BUCKET_NAME into a gs:// URL and defaults to Google ID tokens', () => {
    const config = loadConfig({
      TARGET_FILE_ID: 'x',
      BACKEND_API_URL: 'https://backend.example.run.app',
      GCS_BUCKET_NAME: 'my-bucket',
    });
    expect(config.storageUrl).toBe('gs://my-bucket');
    expect(config.callbackAuth).toBe('google');
    expect(config.callbackAudience).toBe('https://backend.example.run.app');
  });

  it('picks the image of its task index from TARGET_FILE_IDS in batch mode', () => {
    const { TARGET_FILE_ID: _, ...rest } = base;
    const config = loadConfig({
      ...rest,
      TARGET_FILE_IDS: 'a, b ,c',
      CLOUD_RUN_TASK_INDEX: '1',
      CLOUD_RUN_TASK_COUNT: '3',
    });
    expect(config.imageId).toBe('b');
    expect(config.taskCount).toBe(3);
  });

  it('takes ids i, i + T, i + 2T, … of TARGET_FILE_IDS as task i of T', () => {
    const { TARGET_FILE_ID: _, ...rest } = base;
    const ids = 'a,b,c,d,e,f,g';
    const slice = (index: string, count: string) =>
      loadConfig({
        ...rest,
        TARGET_FILE_IDS: ids,
        CLOUD_RUN_TASK_INDEX: index,
        CLOUD_RUN_TASK_COUNT: count,
      }).images.map((i) => i.imageId);
    expect(slice('0', '3')).toEqual(['a', 'd', 'g']);
    expect(slice('2', '3')).toEqual(['c', 'f']);
    expect(slice('0', '1')).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    // T = N: one image per task, as before batches were sliced.
    expect(slice('4', '7')).toEqual(['e']);
    expect(loadConfig({ ...rest, TARGET_FILE_IDS: ids, CLOUD_RUN_TASK_INDEX: '2' })).toMatchObject({
      imageId: 'c',
      images: [{ imageId: 'c' }],
      taskCount: 7,
    });
    expect(loadConfig(base).images).toEqual([{ imageId: 'img-1', generation: undefined }]);
  });

  it('refuses a task index that is not below CLOUD_RUN_TASK_COUNT', () => {
    const { TARGET_FILE_ID: _, ...rest } = base;
    expect(() =>
      loadConfig({
        ...rest,
        TARGET_FILE_IDS: 'a,b,c',
        CLOUD_RUN_TASK_INDEX: '2',
        CLOUD_RUN_TASK_COUNT: '2',
      }),
    ).toThrow('CLOUD_RUN_TASK_INDEX: task index 2 is not below CLOUD_RUN_TASK_COUNT=2');
  });

  it('lists every problem of a bad environment in one error', () => {
    let message = '';
    try {
      loadConfig({
        BACKEND_API_URL: 'not a url',
        CALLBACK_AUTH: 'shared-secret',
        MAX_RETRIES: 'three',
        LOG_LEVEL: 'LOUD',
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('BACKEND_API_URL');
    expect(message).toContain('MAX_RETRIES');
    expect(message).toContain('LOG_LEVEL');
    expect(message).toContain(
      'TARGET_FILE_ID: one of TARGET_FILE_ID or TARGET_FILE_IDS is required',
    );
    expect(message).toContain('GCS_BUCKET_NAME: one of GCS_BUCKET_NAME or STORAGE_URL is required');
    expect(message).toContain('CALLBACK_SECRET: required when CALLBACK_AUTH=shared-secret');
  });

  it('refuses a task index past the end of the batch', () => {
    const { TARGET_FILE_ID: _, ...rest } = base;
    expect(() =>
      loadConfig({ ...rest, TARGET_FILE_IDS: 'a,b', CLOUD_RUN_TASK_INDEX: '2' }),
    ).toThrow('task index 2 is past the 2 ids of TARGET_FILE_IDS');
  });

  it('refuses an attempt number above MAX_RETRIES, which would hide the final attempt', () => {
    expect(() => loadConfig({ ...base, MAX_RETRIES: '1', CLOUD_RUN_TASK_ATTEMPT: '2' })).toThrow(
      "MAX_RETRIES must equal the job's --max-retries",
    );
  });

  it('treats blank variables as unset, as Cloud Run console edits often leave them', () => {
    const config = loadConfig({
      ...base,
      MAX_RETRIES: '',
      IMAGING_PRESET: ' ',
      GCS_BUCKET_NAME: '',
    });
    expect(config.maxRetries).toBe(3);
    expect(config.imagingPreset).toBeUndefined();
  });

  it('never reads the fault switches, which only the test-only entry main-with-faults.ts honours', () => {
    const config = loadConfig({ ...base, PROCESSOR_FAULT: 'crash', STORAGE_FAULTS: 'seed=1' });
    expect(JSON.stringify(config)).not.toMatch(/crash|seed=1/);
  });

  it('knows the final attempt is the one numbered MAX_RETRIES', () => {
    expect(isFinalAttempt(loadConfig({ ...base, CLOUD_RUN_TASK_ATTEMPT: '2' }))).toBe(false);
    expect(isFinalAttempt(loadConfig({ ...base, CLOUD_RUN_TASK_ATTEMPT: '3' }))).toBe(true);
    expect(isFinalAttempt(loadConfig({ ...base, MAX_RETRIES: '0' }))).toBe(true);
  });
});
