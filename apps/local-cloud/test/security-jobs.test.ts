/**
 * What a Cloud Run job may run and what the API shows of it (docs/security.md,
 * "Local stack"): only registered command lines, never set or overridden
 * through the API; secrets as Secret Manager references the API never
 * resolves; Google's limits before anything is stored or started.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import { api, PARENT, removeDir, startCloud, tempDir, waitFor } from './helpers.ts';
import { writeJobScript } from './job-script.ts';

const J = `/v2/${PARENT}/jobs`;
const SECRET_VALUE = 'callback-secret-value-that-must-never-appear-in-the-api';
let dir: string;
let script: string;
let secretFile: string;
let cloud: RunningLocalCloud;
let seq = 0;

beforeAll(async () => {
  dir = tempDir();
  script = writeJobScript(dir);
  secretFile = join(dir, 'callback-secret');
  writeFileSync(secretFile, `${SECRET_VALUE}\n`, { mode: 0o600 });
  cloud = await startCloud(join(dir, 'data'), {
    jobCommands: [['node', script]],
    secretFiles: { 'callback-secret': secretFile },
  });
});
afterAll(async () => {
  await cloud.stop();
  removeDir(dir);
});

function jobBody(container: Record<string, unknown>, template: Record<string, unknown> = {}) {
  return {
    template: {
      ...template,
      template: { maxRetries: 0, timeout: '60s', containers: [container] },
    },
  };
}

/** A job running the registered script with env MODE=ok writing into its own folder. */
async function goodJob(
  extraEnv: unknown[] = [],
): Promise<{ name: string; out: string; id: string }> {
  const id = `job-${++seq}`;
  const out = join(dir, id);
  mkdirSync(out);
  const res = await api(
    cloud,
    'POST',
    `${J}?jobId=${id}`,
    jobBody({
      image: 'local/test-job',
      command: ['node', script],
      env: [{ name: 'MODE', value: 'ok' }, { name: 'OUT_DIR', value: out }, ...extraEnv],
    }),
  );
  expect(res.status, JSON.stringify(res)).toBe(200);
  return { name: `${PARENT}/jobs/${id}`, out, id };
}

describe('a job runs only a command line the local stack registered', () => {
  it('refuses a job whose command is set through the API (/bin/sh -c …) and stores nothing', async () => {
    const marker = join(dir, 'shell-ran');
    const res = await api(
      cloud,
      'POST',
      `${J}?jobId=shell`,
      jobBody({ command: ['/bin/sh', '-c', `touch ${marker}`] }),
    );
    expect(res, JSON.stringify(res)).toMatchObject({
      status: 403,
      body: { error: { status: 'PERMISSION_DENIED' } },
    });
    expect(res.body.error.message).toContain('LOCAL_CLOUD_JOB_COMMANDS');
    expect((await api(cloud, 'GET', `${J}/shell`)).status).toBe(404);
    const run = await api(cloud, 'POST', `${J}/shell:run`, {});
    expect(run.status).toBe(404);
    expect(existsSync(marker)).toBe(false);
  });

  it('refuses the registered program with other arguments, and node with --eval', async () => {
    for (const container of [
      { command: ['node', script, '--extra'] },
      { command: ['node'], args: ['-e', 'process.exit(0)'] },
      { command: ['node'], args: [] },
    ]) {
      const res = await api(cloud, 'POST', `${J}?jobId=other-args-${++seq}`, jobBody(container));
      expect(res.status, JSON.stringify(container)).toBe(403);
    }
  });

  it('refuses a PATCH (and allowMissing create) that changes the command line', async () => {
    const job = await goodJob();
    const patched = await api(
      cloud,
      'PATCH',
      `/v2/${job.name}`,
      jobBody({ command: ['/bin/sh', '-c', 'id'] }),
    );
    expect(patched.status).toBe(403);
    const created = await api(
      cloud,
      'PATCH',
      `${J}/made-by-patch?allowMissing=true`,
      jobBody({ command: ['/usr/bin/env'] }),
    );
    expect(created.status).toBe(403);
    const got = await api(cloud, 'GET', `/v2/${job.name}`);
    expect(got.body.template.template.containers[0].command).toEqual(['node', script]);
  });

  it('refuses jobs:run overrides that add or clear args (env, taskCount and timeout only)', async () => {
    const job = await goodJob();
    for (const override of [
      { args: ['-e', 'require("child_process").execSync("id")'] },
      { clearArgs: true },
    ]) {
      const res = await api(cloud, 'POST', `/v2/${job.name}:run`, {
        overrides: { containerOverrides: [override] },
      });
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
      expect(res.body.error.message).toContain('does not override args');
    }
    expect((await api(cloud, 'GET', `/v2/${job.name}/executions`)).body.executions).toEqual([]);
  });

  it('refuses environment variables that change what code runs, in the job and in overrides', async () => {
    const names = [
      'NODE_OPTIONS',
      'LD_PRELOAD',
      'PATH',
      'NODE_PATH',
      'OPENSSL_CONF',
      'NODE_COMPILE_CACHE',
    ];
    for (const name of names) {
      const res = await api(
        cloud,
        'POST',
        `${J}?jobId=env-${++seq}`,
        jobBody({ command: ['node', script], env: [{ name, value: '--import=data:,1' }] }),
      );
      expect(res.status, name).toBe(403);
    }
    const job = await goodJob();
    const res = await api(cloud, 'POST', `/v2/${job.name}:run`, {
      overrides: {
        containerOverrides: [
          { env: [{ name: 'NODE_OPTIONS', value: '--require=/tmp/anything.js' }] },
        ],
      },
    });
    expect(res.status).toBe(403);
  });

  it('refuses the CLOUD_RUN_* names Cloud Run reserves, as Google does', async () => {
    const res = await api(
      cloud,
      'POST',
      `${J}?jobId=reserved`,
      jobBody({ command: ['node', script], env: [{ name: 'CLOUD_RUN_TASK_INDEX', value: '7' }] }),
    );
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('reserved');
  });

  it('does not run a stored job whose command line is no longer registered', async () => {
    const own = tempDir();
    const marker = join(own, 'ran');
    const data = join(own, 'data');
    const first = await startCloud(data, { jobCommands: [['/usr/bin/touch', marker]] });
    try {
      const created = await api(
        first,
        'POST',
        `${J}?jobId=old`,
        jobBody({ command: ['/usr/bin/touch', marker] }),
      );
      expect(created.status).toBe(200);
    } finally {
      await first.stop();
    }
    const second = await startCloud(data);
    try {
      const run = await api(second, 'POST', `${J}/old:run`, {});
      expect(run.status, JSON.stringify(run)).toBe(403);
      expect(existsSync(marker)).toBe(false);
    } finally {
      await second.stop();
      removeDir(own);
    }
  });
});

describe('secrets are references the API never resolves', () => {
  it('shows no secret value in GET of the job, its execution and operation; the task gets it', async () => {
    const job = await goodJob([
      {
        name: 'CALLBACK_SECRET',
        valueSource: { secretKeyRef: { secret: 'callback-secret', version: 'latest' } },
      },
    ]);
    const got = await api(cloud, 'GET', `/v2/${job.name}`);
    expect(got.status).toBe(200);
    expect(JSON.stringify(got.body)).not.toContain(SECRET_VALUE);
    expect(got.body.template.template.containers[0].env).toContainEqual({
      name: 'CALLBACK_SECRET',
      valueSource: { secretKeyRef: { secret: 'callback-secret', version: 'latest' } },
    });
    const started = await api(cloud, 'POST', `/v2/${job.name}:run`, {});
    expect(started.status, JSON.stringify(started)).toBe(200);
    const op = await waitFor(async () => {
      const res = await api(cloud, 'GET', `/v2/${started.body.name}`);
      return res.body.done ? res.body : undefined;
    }, 'the job execution');
    expect(op.error, JSON.stringify(op)).toBeUndefined();
    const executions = await api(cloud, 'GET', `/v2/${job.name}/executions`);
    const jobs = await api(cloud, 'GET', J);
    for (const answer of [op, executions.body, jobs.body, started.body]) {
      expect(JSON.stringify(answer)).not.toContain(SECRET_VALUE);
    }
    const env = JSON.parse(readFileSync(join(job.out, 't0-a0.json'), 'utf8'));
    expect(env.CALLBACK_SECRET).toBe(SECRET_VALUE);
  });

  it('answers 404 for a secret the configuration does not register, and 400 for a version', async () => {
    const unknown = await api(
      cloud,
      'POST',
      `${J}?jobId=unknown-secret`,
      jobBody({
        command: ['node', script],
        env: [{ name: 'S', valueSource: { secretKeyRef: { secret: 'admin-password' } } }],
      }),
    );
    expect(unknown.status).toBe(404);
    const versioned = await api(
      cloud,
      'POST',
      `${J}?jobId=versioned-secret`,
      jobBody({
        command: ['node', script],
        env: [
          { name: 'S', valueSource: { secretKeyRef: { secret: 'callback-secret', version: '3' } } },
        ],
      }),
    );
    expect(versioned.status).toBe(400);
  });
});

describe("Cloud Run's documented limits, enforced before anything runs", () => {
  it('refuses jobs:run with taskCount 1,000,000 or 10,001 and starts no execution', async () => {
    const job = await goodJob();
    for (const taskCount of [1_000_000, 10_001, 0, 2.5]) {
      const res = await api(cloud, 'POST', `/v2/${job.name}:run`, { overrides: { taskCount } });
      expect(res, JSON.stringify(res)).toMatchObject({
        status: 400,
        body: { error: { status: 'INVALID_ARGUMENT' } },
      });
    }
    expect((await api(cloud, 'GET', `/v2/${job.name}/executions`)).body.executions).toEqual([]);
  });

  it('refuses templates past the limits: taskCount, parallelism, maxRetries, timeout, env', async () => {
    const container = { command: ['node', script] };
    const cases: [string, unknown][] = [
      ['taskCount 10,001', jobBody(container, { taskCount: 10_001 })],
      ['parallelism above taskCount', jobBody(container, { taskCount: 2, parallelism: 3 })],
      ['maxRetries 11', { template: { template: { maxRetries: 11, containers: [container] } } }],
      [
        'timeout 169 h',
        { template: { template: { timeout: '608400s', containers: [container] } } },
      ],
      [
        '1,001 env vars',
        jobBody({
          ...container,
          env: Array.from({ length: 1001 }, (_, i) => ({ name: `V${i}`, value: 'x' })),
        }),
      ],
      [
        'an env value over 32 KiB',
        jobBody({ ...container, env: [{ name: 'BIG', value: 'x'.repeat(32_769) }] }),
      ],
    ];
    for (const [what, body] of cases) {
      const res = await api(cloud, 'POST', `${J}?jobId=limit-${++seq}`, body);
      expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(400);
    }
    const atLimit = await api(
      cloud,
      'POST',
      `${J}?jobId=limit-ok`,
      jobBody(container, { taskCount: 10_000 }),
    );
    expect(atLimit.status, JSON.stringify(atLimit.body)).toBe(200);
  });
});
