import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('LOCAL_CLOUD_JOB_PINNED_ENV', () => {
  it('reads literals and references to registered secrets', () => {
    const config = loadConfig({
      LOCAL_CLOUD_SECRET_FILES: '{"callback-secret":"/data/callback-secret"}',
      LOCAL_CLOUD_JOB_PINNED_ENV: JSON.stringify({
        BACKEND_API_URL: 'http://127.0.0.1:8080',
        CALLBACK_SECRET: { secret: 'callback-secret' },
      }),
    });
    expect(config.jobPinnedEnv).toEqual({
      BACKEND_API_URL: 'http://127.0.0.1:8080',
      CALLBACK_SECRET: { secret: 'callback-secret' },
    });
  });

  it('pins nothing by default', () => {
    expect(loadConfig({}).jobPinnedEnv).toEqual({});
  });

  it('refuses at start a pin to an unregistered secret, a bad name and a value that is neither', () => {
    const problems = (pinned: unknown) => {
      try {
        loadConfig({ LOCAL_CLOUD_JOB_PINNED_ENV: JSON.stringify(pinned) });
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(problems({ CALLBACK_SECRET: { secret: 'callback-secret' } })).toContain(
      'names secret callback-secret, which LOCAL_CLOUD_SECRET_FILES does not register',
    );
    expect(problems({ 'NOT A NAME': 'x' })).toContain('LOCAL_CLOUD_JOB_PINNED_ENV["NOT A NAME"]');
    expect(problems({ MAX_RETRIES: 3 })).toContain('LOCAL_CLOUD_JOB_PINNED_ENV');
    expect(problems({ S: { secret: 'x', version: '2' } })).toContain('LOCAL_CLOUD_JOB_PINNED_ENV');
  });
});

describe('LOCAL_CLOUD_HISTORY_RETENTION_MS', () => {
  it('is left to the default (7 days, history.ts) unless set; 0 keeps everything', () => {
    expect(loadConfig({}).historyRetentionMs).toBeUndefined();
    expect(loadConfig({ LOCAL_CLOUD_HISTORY_RETENTION_MS: '3600000' }).historyRetentionMs).toBe(
      3_600_000,
    );
    expect(loadConfig({ LOCAL_CLOUD_HISTORY_RETENTION_MS: '0' }).historyRetentionMs).toBe(0);
    expect(() => loadConfig({ LOCAL_CLOUD_HISTORY_RETENTION_MS: '-1' })).toThrow(
      /LOCAL_CLOUD_HISTORY_RETENTION_MS/,
    );
  });
});
