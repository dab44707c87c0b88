import { describe, expect, it } from 'vitest';
import { createLogger } from './index.ts';

/** One line logged with `fields` (through a child, so both paths are redacted), parsed. */
function logged(fields: Record<string, unknown>): Record<string, unknown> {
  const lines: string[] = [];
  createLogger({ stream: { write: (line: string) => lines.push(line) } })
    .child({ component: 'test' })
    .info('line', fields);
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
}

describe('logger redaction', () => {
  it('writes ids and counts whose names only contain a secret word', () => {
    const fields = {
      sessionId: 'a3f9c2',
      resumableUploadId: 'up-7',
      passes: 3,
      compass: 'north',
      tokenCount: 1200,
      tokenFile: '/tmp/local-cloud/token',
      callbackAuth: 'shared-secret',
      key: 'dispatch-key-1',
      keys: ['variants/a', 'variants/b'],
    };
    expect(logged(fields)).toMatchObject(fields);
  });

  it('redacts passwords, credentials and tokens by their names, nested ones too', () => {
    const line = logged({
      password: 'hunter2',
      callbackSecret: 'cb-secret-value',
      access_token: 'ya29.access',
      request: {
        headers: {
          authorization: 'Bearer abc',
          'x-csrf-token': 'csrf-value',
          cookie: 'sid=cookie-value',
          'Set-Cookie': ['sid=set-value; HttpOnly'],
        },
      },
      accounts: [{ idToken: 'eyJ.id', ADMIN_PASSWORD_HASH: 'scrypt$hash' }],
    });
    expect(line).toMatchObject({
      password: '[redacted]',
      callbackSecret: '[redacted]',
      access_token: '[redacted]',
      request: {
        headers: {
          authorization: '[redacted]',
          'x-csrf-token': '[redacted]',
          cookie: '[redacted]',
          'Set-Cookie': '[redacted]',
        },
      },
      accounts: [{ idToken: '[redacted]', ADMIN_PASSWORD_HASH: '[redacted]' }],
    });
  });

  it('redacts API keys, session cookies and capability URLs the name rule once missed', () => {
    const line = logged({
      apiKey: 'AIza-key',
      'x-goog-api-key': 'AIza-header',
      private_key: '-----BEGIN PRIVATE KEY-----',
      sid: 'session-cookie-value',
      sessionUrl: 'http://127.0.0.1:8080/api/upload-sessions/capability',
      ADMIN_TOKENS: 'one,two',
    });
    const text = JSON.stringify(line);
    for (const secret of ['AIza', 'PRIVATE KEY', 'session-cookie-value', 'capability', 'one,two']) {
      expect(text).not.toContain(secret);
    }
  });
});
