import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '@slideshow/contracts';
import { DEFAULT_LIMITS } from '@slideshow/imaging/header';
import { DEFAULT_LEASE_TIMING } from '@slideshow/lease';
import { AppError } from '@slideshow/runtime';
import { describe, expect, it } from 'vitest';
import { hashPassword, isPasswordHash, verifyPassword } from '../src/auth/password.ts';
import { loadConfig } from '../src/config.ts';
import { judgeFailedDispatch } from '../src/dispatch-verdict.ts';
import { statusFor } from '../src/http-errors.ts';
import { IMAGE_ID_PATTERN, newImageId } from '../src/ids.ts';
import { backoffMs, RELAY_DEFAULTS } from '../src/outbox-relay.ts';
import { REAPER_DEFAULTS } from '../src/reaper.ts';
import { DEFAULT_IDLE_TIMEOUT_MS } from '../src/request-body.ts';
import { DEFAULT_SERVER_TIMEOUTS } from '../src/server-options.ts';
import { sanitizeName, UNSAFE_NAME_PATTERN } from '../src/upload/sanitize-name.ts';
import { UPLOAD_SESSION_DEFAULTS } from '../src/upload/upload-sessions.ts';
import { adminPage } from '../src/web/admin-page.ts';

describe('sanitizeName', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\photo.jpg', 'photo.jpg'],
    ['a\u0000b\u0007c.png', 'abc.png'],
    ['evil\u202egnp.exe', 'evilgnp.exe'],
    ['...hidden', 'hidden'],
    ['', 'unnamed'],
    [undefined, 'unnamed'],
    ['/', 'unnamed'],
    // A name is one line, and shows what it holds: separators, bidi controls (U+061C ARABIC
    // LETTER MARK too), zero-width characters, U+FEFF, soft hyphens and stray tags go.
    ['a\u2028b\u061C.jpg', 'ab.jpg'],
    ['para\u2029graph.png', 'paragraph.png'],
    ['next\u0085line.png', 'nextline.png'],
    ['l\u200er\u200fm.png', 'lrm.png'],
    ['zero\u200bwidth\u2060no\ufeffbreak.png', 'zerowidthnobreak.png'],
    ['soft\u00adhyphen.png', 'softhyphen.png'],
    ['ta\u{E0067}\u{E007F}gs.png', 'tags.png'],
    ['a\u200db\u200cc.png', 'abc.png'],
    ['\u{1F600}\u200dx.png', '\u{1F600}x.png'],
    // An incomplete subdivision flag (no cancel tag) is a black flag.
    ['\u{1F3F4}\u{E0067}\u{E0062}.png', '\u{1F3F4}.png'],
  ])('turns %j into %j', (input, expected) => {
    expect(sanitizeName(input)).toBe(expected);
  });

  it.each([
    ['an emoji family (ZWJ sequence)', '\u{1F468}\u200d\u{1F469}\u200d\u{1F467} at home.jpg'],
    ['an emoji with a skin tone in a ZWJ sequence', '\u{1F469}\u{1F3FD}\u200d\u{1F4BB}.png'],
    ['the rainbow flag (VS16 then ZWJ)', '\u{1F3F3}\ufe0f\u200d\u{1F308}.png'],
    [
      "Scotland's flag (a tag sequence)",
      '\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}.png',
    ],
    ['a Persian word with its ZWNJ', '\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645.jpg'],
    ['a Devanagari half form (virama, ZWJ)', '\u0915\u094d\u200d\u0937.png'],
  ])('keeps %s as it is', (_, name) => {
    expect(sanitizeName(name)).toBe(name);
  });

  it('gives the admin page the same rule, as the page reads it (data-unsafe-name, flags gu)', () => {
    const source = /data-unsafe-name="([^"]*)"/.exec(adminPage)?.[1];
    expect(source).toBe(UNSAFE_NAME_PATTERN);
    const pageRule = new RegExp(source!, 'gu');
    for (const name of ['a\u2028b\u061C.jpg', 'x\u200b\u{1F468}\u200d\u{1F469}\u202e.png']) {
      expect(name.replace(pageRule, '')).toBe(sanitizeName(name));
    }
  });

  it('limits a name to 200 characters without splitting a character', () => {
    expect(Array.from(sanitizeName('😀'.repeat(300)))).toHaveLength(200);
  });

  it('keeps the extension of a long name and cuts its stem between user-perceived characters', () => {
    expect(sanitizeName(`${'a'.repeat(251)}.jpg`)).toBe(`${'a'.repeat(196)}.jpg`);
    // A flag is two code points: 97 of them and the x fill 195 of the stem's 196.
    expect(sanitizeName(`x${'🇫🇷'.repeat(150)}.png`)).toBe(`x${'🇫🇷'.repeat(97)}.png`);
    // x + U+0301 has no precomposed form: two code points that NFC keeps apart.
    expect(sanitizeName(`${'x\u0301'.repeat(150)}.jpeg`)).toBe(`${'x\u0301'.repeat(97)}.jpeg`);
    expect(sanitizeName(`${'w '.repeat(120)}.png`)).toBe(`${'w '.repeat(98).trimEnd()}.png`);
  });

  it('cuts a long name whose "extension" is not one (too long, spaced) at 200 characters', () => {
    expect(sanitizeName(`a.${'b'.repeat(300)}`)).toBe(`a.${'b'.repeat(198)}`);
    expect(sanitizeName(`${'c'.repeat(250)}. and more`)).toBe('c'.repeat(200));
  });
});

describe('identifiers and passwords', () => {
  it('makes random URL-safe image ids of one shape', () => {
    const ids = new Set(Array.from({ length: 100 }, newImageId));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(IMAGE_ID_PATTERN);
  });

  it('hashes a password with scrypt and verifies only the same password', async () => {
    const hash = await hashPassword('s3cret');
    expect(isPasswordHash(hash)).toBe(true);
    expect(await verifyPassword('s3cret', hash)).toBe(true);
    expect(await verifyPassword('s3cret ', hash)).toBe(false);
    expect(await verifyPassword('s3cret', 'plain')).toBe(false);
  });
});

describe('error statuses', () => {
  it('maps every error code to a 4xx or 5xx status', () => {
    for (const code of ERROR_CODES) expect(statusFor(code)).toBeGreaterThanOrEqual(400);
    expect(statusFor('UNSUPPORTED_FORMAT')).toBe(415);
    expect(statusFor('TOO_MANY_PIXELS')).toBe(422);
    expect(statusFor('PAYLOAD_TOO_LARGE')).toBe(413);
    expect(statusFor('STALE_GENERATION')).toBe(409);
  });
});

describe('relay backoff', () => {
  it('grows exponentially and stays under the cap with jitter', () => {
    expect(backoffMs(0, 1000, 300_000)).toBeGreaterThanOrEqual(800);
    expect(backoffMs(0, 1000, 300_000)).toBeLessThanOrEqual(1200);
    expect(backoffMs(3, 1000, 300_000)).toBeGreaterThanOrEqual(6400);
    expect(backoffMs(50, 1000, 300_000)).toBeLessThanOrEqual(360_000);
  });
});

describe("the relay's verdict on a failed dispatch", () => {
  const policy = { initialDelayMs: 1_000, maxDelayMs: 300_000, maxAttempts: 5 };
  const unavailable = new AppError('DISPATCH_FAILED', '14 UNAVAILABLE', { retryable: true });
  const denied = new AppError('DISPATCH_FAILED', '7 PERMISSION_DENIED', { retryable: false });
  it.each([
    // error, attempt that failed, verdict, code
    [unavailable, 1, 'retry', undefined],
    [unavailable, 4, 'retry', undefined],
    [unavailable, 5, 'give-up', 'DISPATCH_FAILED'],
    [unavailable, 50, 'give-up', 'DISPATCH_FAILED'],
    [denied, 1, 'give-up', 'DISPATCH_REFUSED'],
    [denied, 5, 'give-up', 'DISPATCH_REFUSED'],
  ] as const)('%s on attempt %i: %s %s', (error, attempts, kind, code) => {
    const verdict = judgeFailedDispatch(error, attempts, policy);
    expect(verdict.kind).toBe(kind);
    if (verdict.kind === 'give-up') expect(verdict.failure.code).toBe(code);
  });

  it('waits the backoff of the attempts so far before the next one', () => {
    const first = judgeFailedDispatch(unavailable, 1, policy);
    const fourth = judgeFailedDispatch(unavailable, 4, policy);
    if (first.kind !== 'retry' || fourth.kind !== 'retry') throw new Error('expected retries');
    expect(first.delayMs).toBeGreaterThanOrEqual(800);
    expect(first.delayMs).toBeLessThanOrEqual(1_200);
    expect(fourth.delayMs).toBeGreaterThanOrEqual(6_400);
    expect(fourth.delayMs).toBeLessThanOrEqual(9_600);
  });

  it('caps retries at about a day with the default delays', () => {
    let waited = 0;
    for (let attempt = 1; attempt < RELAY_DEFAULTS.maxAttempts; attempt++) {
      waited += Math.min(
        RELAY_DEFAULTS.maxDelayMs,
        RELAY_DEFAULTS.initialDelayMs * 2 ** (attempt - 1),
      );
    }
    expect(waited / 3_600_000).toBeGreaterThan(20);
    expect(waited / 3_600_000).toBeLessThan(28);
  });
});

describe('loadConfig', () => {
  it('needs nothing in local mode and keeps state under .data', () => {
    const config = loadConfig({}, '/repo');
    expect(config).toMatchObject({
      mode: 'local',
      port: 8080,
      host: '127.0.0.1',
      databasePath: '/repo/.data/slideshow.db',
      storageUrl: 'file:///repo/.data/storage',
      callbackAuth: 'shared-secret',
      dispatch: 'cloud-tasks',
      project: 'local-project',
      location: 'us-central1',
      cloudTasksEndpoint: 'http://127.0.0.1:8123',
      queues: { uploads: 'image-uploads', ingest: 'image-ingest' },
      workflow: 'process-image',
      publicMediaBaseUrl: '/media/',
      maxUploadBytes: 200 * 1024 * 1024,
    });
  });

  it('defaults each limit and timeout to the value of the module that owns it, as the README documents', () => {
    const config = loadConfig({}, '/repo');
    const documented = {
      maxUploadBytes: 200 * 1024 * 1024,
      requestTimeoutMs: 15 * 60_000,
      headersTimeoutMs: 20_000,
      uploadIdleTimeoutMs: 30_000,
      uploadSessionTtlMs: 24 * 3600_000,
      leaseTtlMs: 15_000,
      reaperIntervalMs: 60_000,
      stuckAfterMs: 3600_000,
    };
    const owners = {
      maxUploadBytes: DEFAULT_LIMITS.maxBytes,
      requestTimeoutMs: DEFAULT_SERVER_TIMEOUTS.requestTimeoutMs,
      headersTimeoutMs: DEFAULT_SERVER_TIMEOUTS.headersTimeoutMs,
      uploadIdleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
      uploadSessionTtlMs: UPLOAD_SESSION_DEFAULTS.ttlMs,
      leaseTtlMs: DEFAULT_LEASE_TIMING.ttlMs,
      reaperIntervalMs: REAPER_DEFAULTS.intervalMs,
      stuckAfterMs: REAPER_DEFAULTS.stuckAfterMs,
    };
    const loaded = {
      maxUploadBytes: config.maxUploadBytes,
      requestTimeoutMs: config.requestTimeoutMs,
      headersTimeoutMs: config.headersTimeoutMs,
      uploadIdleTimeoutMs: config.uploadIdleTimeoutMs,
      uploadSessionTtlMs: config.uploadSessionTtlMs,
      leaseTtlMs: config.lease.ttlMs,
      reaperIntervalMs: config.reaperIntervalMs,
      stuckAfterMs: config.stuckAfterMs,
    };
    expect(loaded).toEqual(owners);
    expect(loaded).toEqual(documented);
  });

  it("refuses a MAX_UPLOAD_BYTES above the processor's limit, which would fail the file it let in", () => {
    const limit = DEFAULT_LIMITS.maxBytes;
    expect(loadConfig({ MAX_UPLOAD_BYTES: String(limit) }, '/repo').maxUploadBytes).toBe(limit);
    expect(loadConfig({ MAX_UPLOAD_BYTES: String(64 << 20) }, '/repo').maxUploadBytes).toBe(
      64 << 20,
    );
    let error: unknown;
    try {
      loadConfig({ MAX_UPLOAD_BYTES: String(limit + 1), PORT: 'x' }, '/repo');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    // Listed with the other problems, and saying why.
    expect((error as AppError).context?.problems).toEqual([
      'PORT: Invalid input: expected number, received NaN',
      `MAX_UPLOAD_BYTES: must be at most ${limit}, the processor's limit (DEFAULT_LIMITS.maxBytes, packages/imaging/src/limits.ts): a larger file would be accepted, then failed as FILE_TOO_LARGE`,
    ]);
  });

  it('keeps a DATA_DIR named with a space, # or % whole in the store and lease URLs', () => {
    // A raw "#" once ended the path there: the lease and the store went to "/srv/my data ".
    const config = loadConfig({ DATA_DIR: '/srv/my data #2 100%' }, '/repo');
    expect(fileURLToPath(config.storageUrl ?? '')).toBe('/srv/my data #2 100%/storage');
    expect(fileURLToPath(config.lease.url)).toBe('/srv/my data #2 100%/slideshow.db.lease');
  });

  it("sends local-cloud's token from its file: <DATA_DIR>/local-cloud.token by default, LOCAL_CLOUD_TOKEN_FILE when set", () => {
    expect(loadConfig({}, '/repo').localCloudTokenFile).toBe('/repo/.data/local-cloud.token');
    expect(
      loadConfig(
        { LOCAL_CLOUD_TOKEN_FILE: 'lc/token', CLOUD_TASKS_ENDPOINT: 'http://127.0.0.1:9' },
        '/repo',
      ).localCloudTokenFile,
    ).toBe('/repo/lc/token');
    // Another emulator (a test's fake) gets no local-cloud token unless one is named.
    expect(
      loadConfig({ CLOUD_TASKS_ENDPOINT: 'http://127.0.0.1:9' }, '/repo').localCloudTokenFile,
    ).toBeUndefined();
  });

  it('takes the port from PORT and the bucket from GCS_BUCKET_NAME', () => {
    const config = loadConfig({ PORT: '9000', GCS_BUCKET_NAME: 'media' }, '/repo');
    expect(config.port).toBe(9000);
    expect(config.storageUrl).toBe('gs://media');
  });

  it('lists every missing production setting in one error', () => {
    expect(() => loadConfig({ MODE: 'production' }, '/repo')).toThrow(
      /PUBLIC_URL[\s\S]*STORAGE_URL or GCS_BUCKET_NAME[\s\S]*ADMIN_PASSWORD_HASH[\s\S]*GOOGLE_CLOUD_PROJECT[\s\S]*CALLBACK_ALLOWED_EMAILS[\s\S]*TASKS_SERVICE_ACCOUNT/,
    );
  });

  it('refuses an admin token shorter than 32 characters, naming which without printing it', () => {
    const long = 'a'.repeat(32);
    expect(loadConfig({ ADMIN_TOKENS: `${long}, ${long}b` }, '/repo').adminTokens).toEqual([
      long,
      `${long}b`,
    ]);
    let error: unknown;
    try {
      loadConfig({ ADMIN_TOKENS: `${long},short-token-9` }, '/repo');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).context?.problems).toEqual([
      'ADMIN_TOKENS: token 2 of 2 has 13 characters; each must have at least 32 (e.g. 32 random bytes in base64url, docs/deploy.md)',
    ]);
    expect((error as AppError).message).not.toContain('short-token-9');
  });

  it('lists every malformed value in one error', () => {
    expect(() =>
      loadConfig({ PORT: 'x', MODE: 'staging', DISPATCH: 'carrier-pigeon' }, '/repo'),
    ).toThrow(/MODE[\s\S]*PORT[\s\S]*DISPATCH/);
  });

  it('accepts a complete production configuration', () => {
    const config = loadConfig(
      {
        MODE: 'production',
        PUBLIC_URL: 'https://backend.example.run.app',
        GCS_BUCKET_NAME: 'media',
        ADMIN_PASSWORD_HASH: 'scrypt$16384$8$1$c2FsdA==$aGFzaA==',
        GOOGLE_CLOUD_PROJECT: 'p',
        GOOGLE_CLOUD_LOCATION: 'europe-west1',
        CALLBACK_ALLOWED_EMAILS:
          'processor@p.iam.gserviceaccount.com, workflow@p.iam.gserviceaccount.com',
        TASKS_SERVICE_ACCOUNT: 'tasks@p.iam.gserviceaccount.com',
        PUBLIC_MEDIA_BASE_URL: 'https://storage.googleapis.com/media/',
      },
      '/app',
    );
    expect(config).toMatchObject({
      host: '0.0.0.0',
      callbackAuth: 'google',
      callbackAllowedEmails: [
        'processor@p.iam.gserviceaccount.com',
        'workflow@p.iam.gserviceaccount.com',
      ],
      cloudTasksEndpoint: undefined,
    });
  });
});
