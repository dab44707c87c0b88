import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, silentLogger } from '@slideshow/runtime';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../google-error.ts';
import { type ContainerToCheck, createJobPolicy } from './job-policy.ts';

const COMMAND = ['node', '/repo/apps/processor/dist/processor.mjs'];
const BACKEND = 'http://127.0.0.1:8080';
const SECRET_REF = { secretKeyRef: { secret: 'callback-secret', version: 'latest' } };

const policy = createJobPolicy({
  commands: [COMMAND],
  secretFiles: { 'callback-secret': '/nonexistent/callback-secret', other: '/nonexistent/other' },
  pinnedEnv: {
    BACKEND_API_URL: BACKEND,
    STORAGE_URL: 'file:///repo/.data/storage',
    CALLBACK_SECRET: { secret: 'callback-secret' },
  },
  logger: silentLogger,
});

/** The env the local stack registers the processor with, plus `extra`. */
function processor(extra: NonNullable<ContainerToCheck['env']> = []): ContainerToCheck {
  return {
    command: COMMAND.slice(0, 1),
    args: COMMAND.slice(1),
    env: [
      { name: 'BACKEND_API_URL', value: BACKEND },
      { name: 'STORAGE_URL', value: 'file:///repo/.data/storage' },
      { name: 'CALLBACK_SECRET', valueSource: SECRET_REF },
      ...extra,
    ],
  };
}

/** The error `check` throws (its status and message), or undefined. */
function refusal(check: () => void): { status: string; message: string } | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { status: error.status, message: error.message };
  }
}

describe('the pinned environment of a job', () => {
  it('accepts the registered command with every pinned variable at its value, and other variables', () => {
    expect(
      refusal(() =>
        policy.checkContainer(processor([{ name: 'TARGET_FILE_ID', value: 'img-1' }]), 'c'),
      ),
    ).toBeUndefined();
  });

  it('accepts the secret pin given as projects/P/secrets/NAME', () => {
    const container = processor();
    container.env = container.env?.map((e) =>
      e.name === 'CALLBACK_SECRET'
        ? {
            name: e.name,
            valueSource: { secretKeyRef: { secret: 'projects/p/secrets/callback-secret' } },
          }
        : e,
    );
    expect(refusal(() => policy.checkContainer(container, 'c'))).toBeUndefined();
  });

  it('refuses another BACKEND_API_URL, naming the variable and the setting', () => {
    const container = processor();
    container.env = container.env?.map((e) =>
      e.name === 'BACKEND_API_URL' ? { name: e.name, value: 'http://127.0.0.1:28999' } : e,
    );
    expect(refusal(() => policy.checkContainer(container, 'overrides.containerOverrides'))).toEqual(
      {
        status: 'PERMISSION_DENIED',
        message:
          'overrides.containerOverrides.env: BACKEND_API_URL must be "http://127.0.0.1:8080", not another value (local-cloud\'s configuration pins it: LOCAL_CLOUD_JOB_PINNED_ENV).',
      },
    );
  });

  it('refuses a second entry of a pinned name with another value (the last one would win)', () => {
    const container = processor([{ name: 'STORAGE_URL', value: 'file:///home/dev/.ssh' }]);
    expect(refusal(() => policy.checkContainer(container, 'c'))?.message).toContain(
      'STORAGE_URL must be "file:///repo/.data/storage"',
    );
  });

  it('refuses a job that leaves a pinned variable unset', () => {
    const container = processor();
    container.env = container.env?.filter((e) => e.name !== 'STORAGE_URL');
    expect(refusal(() => policy.checkContainer(container, 'c'))).toEqual({
      status: 'PERMISSION_DENIED',
      message:
        'c.env: a job must set STORAGE_URL to "file:///repo/.data/storage" (local-cloud\'s configuration pins it: LOCAL_CLOUD_JOB_PINNED_ENV).',
    });
  });

  it('refuses a pinned literal given as a secret, and a pinned secret given as a literal or another secret', () => {
    const cases: NonNullable<ContainerToCheck['env']>[number][] = [
      { name: 'BACKEND_API_URL', valueSource: SECRET_REF },
      { name: 'CALLBACK_SECRET', value: 'a-secret-of-my-choosing' },
      { name: 'CALLBACK_SECRET', valueSource: { secretKeyRef: { secret: 'other' } } },
    ];
    for (const replacement of cases) {
      const container = processor();
      container.env = container.env?.map((e) => (e.name === replacement.name ? replacement : e));
      expect(
        refusal(() => policy.checkContainer(container, 'c'))?.status,
        JSON.stringify(replacement),
      ).toBe('PERMISSION_DENIED');
    }
  });

  it('refuses the pinned secret under another name (where the program would print or send it)', () => {
    const container = processor([{ name: 'TARGET_FILE_ID', valueSource: SECRET_REF }]);
    expect(refusal(() => policy.checkContainer(container, 'c'))?.message).toBe(
      "c.env: secret callback-secret may be given only as CALLBACK_SECRET, not as TARGET_FILE_ID (local-cloud's configuration pins it: LOCAL_CLOUD_JOB_PINNED_ENV).",
    );
  });

  it('pins nothing when the configuration pins nothing', () => {
    const open = createJobPolicy({ commands: [COMMAND], secretFiles: {}, logger: silentLogger });
    expect(
      refusal(() =>
        open.checkContainer(
          { command: COMMAND, env: [{ name: 'BACKEND_API_URL', value: 'x' }] },
          'c',
        ),
      ),
    ).toBeUndefined();
  });

  it('still refuses a command line that is not registered, before looking at the env', () => {
    expect(
      refusal(() => policy.checkContainer({ ...processor(), args: ['-e', '1'] }, 'c'))?.message,
    ).toContain('LOCAL_CLOUD_JOB_COMMANDS');
  });
});

describe('environment variable names', () => {
  it("refuses the proxy variables, in either case, that would send a job's HTTP through another host", () => {
    for (const name of [
      'NODE_USE_ENV_PROXY',
      'HTTP_PROXY',
      'https_proxy',
      'HTTPS_PROXY',
      'ALL_PROXY',
      'no_proxy',
    ]) {
      expect(
        refusal(() => policy.checkEnvName(name, 'e')),
        name,
      ).toEqual({
        status: 'PERMISSION_DENIED',
        message: `e: local-cloud does not let the API set ${name}, which sends a job's HTTP requests through another host.`,
      });
    }
    expect(refusal(() => policy.checkEnvName('PROXY_MODE', 'e'))).toBeUndefined();
  });

  it('gives back only a pinned secret blanked to an empty literal, leaving any other value to be refused', () => {
    const blanked = [
      { name: 'BACKEND_API_URL', value: '' },
      { name: 'CALLBACK_SECRET', value: '' },
      { name: 'API_TOKEN', value: '' },
    ];
    const { env, restored } = policy.restoreBlankedSecrets(blanked);
    expect(restored).toEqual(['CALLBACK_SECRET']);
    expect(env).toEqual([
      { name: 'BACKEND_API_URL', value: '' },
      { name: 'CALLBACK_SECRET', valueSource: SECRET_REF },
      { name: 'API_TOKEN', value: '' },
    ]);
    const chosen = [{ name: 'CALLBACK_SECRET', value: 'a-secret-of-my-choosing' }];
    expect(policy.restoreBlankedSecrets(chosen)).toEqual({ env: chosen, restored: [] });
    expect(refusal(() => policy.checkContainer({ ...processor(), env: chosen }, 'c'))?.status).toBe(
      'PERMISSION_DENIED',
    );
  });
});

describe('secret files', () => {
  it("warns once, naming the secret, when a secret's file is readable by other users", () => {
    const dir = mkdtempSync(join(tmpdir(), 'job-policy-'));
    try {
      const file = join(dir, 'callback-secret');
      writeFileSync(file, 's3cret\n');
      chmodSync(file, 0o644);
      const lines: string[] = [];
      const logger = createLogger({ stream: { write: (line: string) => lines.push(line) } });
      const lax = createJobPolicy({
        commands: [COMMAND],
        secretFiles: { 'callback-secret': file },
        logger,
      });
      expect(lax.readSecret(SECRET_REF.secretKeyRef)).toBe('s3cret');
      expect(lax.readSecret(SECRET_REF.secretKeyRef)).toBe('s3cret');
      expect(lines).toHaveLength(1);
      // The name is no secret: an operator must see which file to chmod (the value is never logged).
      expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
        message: 'a secret file is readable by other users; chmod 600 it',
        secretName: 'callback-secret',
        file,
      });
      expect(lines[0]).not.toContain('s3cret');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
