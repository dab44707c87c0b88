/**
 * The variables the local stack pins (LOCAL_CLOUD_JOB_PINNED_ENV;
 * docs/security.md, "Local stack", defence 3): where the processor sends the
 * callback secret (BACKEND_API_URL), which store it reads and writes
 * (STORAGE_URL), how it authenticates (CALLBACK_AUTH) and the one name the
 * secret may be given as (CALLBACK_SECRET). No job created, patched or run
 * through the API, v2 or v1, may set them to anything else, and a job or an
 * execution stored before they were pinned does not run with other values.
 * Proxy variables, which would send the same requests elsewhere, are refused.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningLocalCloud } from '../src/server.ts';
import {
  api,
  apiViaProxy,
  type JsonResponse,
  PARENT,
  removeDir,
  startCloud,
  tempDir,
  waitFor,
} from './helpers.ts';
import { startsIn, writeJobScript } from './job-script.ts';

const J = `/v2/${PARENT}/jobs`;
const NS = '/apis/run.googleapis.com/v1/namespaces/p1';
const SECRET_VALUE = 'callback-secret-value-that-goes-only-to-the-pinned-backend';
/** A port nobody listens on: the test script never calls it, the pin only has to hold. */
const BACKEND = 'http://127.0.0.1:9';
const ELSEWHERE = 'http://127.0.0.1:28999';
const SECRET_REF = { secretKeyRef: { secret: 'callback-secret', version: 'latest' } };
let dir: string;
let script: string;
let storageUrl: string;
let secretFile: string;
let cloud: RunningLocalCloud;
let seq = 0;

/** The pins, as tools/local-provision.ts registers them for the processor. */
const pins = () => ({
  BACKEND_API_URL: BACKEND,
  STORAGE_URL: storageUrl,
  CALLBACK_AUTH: 'shared-secret',
  CALLBACK_SECRET: { secret: 'callback-secret' },
});

beforeAll(async () => {
  dir = tempDir();
  script = writeJobScript(dir);
  storageUrl = pathToFileURL(join(dir, 'storage')).href;
  secretFile = join(dir, 'callback-secret');
  writeFileSync(secretFile, `${SECRET_VALUE}\n`, { mode: 0o600 });
  cloud = await startCloud(join(dir, 'data'), {
    jobCommands: [['node', script]],
    secretFiles: { 'callback-secret': secretFile },
    jobPinnedEnv: pins(),
  });
});
afterAll(async () => {
  await cloud.stop();
  removeDir(dir);
});

/** The env of the launcher's processor job (tools/local-provision.ts processorJob), with `changes`. */
function launcherEnv(out: string, changes: Record<string, string> = {}) {
  const literal = {
    BACKEND_API_URL: BACKEND,
    STORAGE_URL: storageUrl,
    CALLBACK_AUTH: 'shared-secret',
    MAX_RETRIES: '0',
    MODE: 'ok',
    OUT_DIR: out,
    ...changes,
  };
  return [
    ...Object.entries(literal).map(([name, value]) => ({ name, value })),
    { name: 'CALLBACK_SECRET', valueSource: SECRET_REF },
  ];
}

function jobBody(env: unknown[]) {
  return {
    template: {
      template: {
        maxRetries: 0,
        timeout: '60s',
        containers: [{ image: 'local/processor', command: ['node', script], env }],
      },
    },
  };
}

/** A job registered as the launcher registers the processor; returns its name and output folder. */
async function launcherJob(): Promise<{ name: string; out: string }> {
  const id = `pinned-${++seq}`;
  const out = join(dir, id);
  mkdirSync(out);
  const res = await api(cloud, 'POST', `${J}?jobId=${id}`, jobBody(launcherEnv(out)));
  expect(res.status, JSON.stringify(res)).toBe(200);
  return { name: `${PARENT}/jobs/${id}`, out };
}

/** Asserts a 403 PERMISSION_DENIED that names the variable and the setting. */
function expectPinRefusal(res: JsonResponse, variable: string): void {
  expect(res, JSON.stringify(res)).toMatchObject({
    status: 403,
    body: { error: { code: 403, status: 'PERMISSION_DENIED' } },
  });
  expect(res.body.error.message).toContain(variable);
  expect(res.body.error.message).toContain('LOCAL_CLOUD_JOB_PINNED_ENV');
}

async function executionsOf(job: string): Promise<unknown[]> {
  return (await api(cloud, 'GET', `/v2/${job}/executions`)).body.executions ?? [];
}

describe('jobs:run overrides of a pinned variable', () => {
  it('refuses the probe: BACKEND_API_URL pointed at another listener, with any image id (403, no execution)', async () => {
    const job = await launcherJob();
    const res = await api(cloud, 'POST', `/v2/${job.name}:run`, {
      overrides: {
        taskCount: 1,
        containerOverrides: [
          {
            env: [
              { name: 'BACKEND_API_URL', value: ELSEWHERE },
              { name: 'TARGET_FILE_ID', value: 'any-image' },
              { name: 'TARGET_GENERATION', value: '0' },
            ],
          },
        ],
      },
    });
    expectPinRefusal(res, 'BACKEND_API_URL');
    expect(await executionsOf(job.name)).toEqual([]);
  });

  it('refuses STORAGE_URL elsewhere, CALLBACK_AUTH=google and a CALLBACK_SECRET of the caller, through v2 and v1', async () => {
    const job = await launcherJob();
    const id = job.name.split('/').at(-1);
    const cases: [string, string][] = [
      ['STORAGE_URL', pathToFileURL(join(dir, 'anywhere')).href],
      ['CALLBACK_AUTH', 'google'],
      ['CALLBACK_SECRET', 'a-secret-of-my-choosing'],
    ];
    for (const [name, value] of cases) {
      const overrides = { containerOverrides: [{ env: [{ name, value }] }] };
      expectPinRefusal(await api(cloud, 'POST', `/v2/${job.name}:run`, { overrides }), name);
      const v1 = await apiViaProxy(cloud, 'us-central1', 'POST', `${NS}/jobs/${id}:run`, {
        overrides,
      });
      expectPinRefusal(v1, name);
    }
    expect(await executionsOf(job.name)).toEqual([]);
  });

  it('refuses the callback secret given to another variable (where it would be printed or sent)', async () => {
    const job = await launcherJob();
    const res = await api(cloud, 'POST', `/v2/${job.name}:run`, {
      overrides: {
        containerOverrides: [{ env: [{ name: 'TARGET_FILE_ID', valueSource: SECRET_REF }] }],
      },
    });
    expectPinRefusal(res, 'TARGET_FILE_ID');
    expect(await executionsOf(job.name)).toEqual([]);
  });

  it("runs the launcher's job with the pinned values, and with overrides of other variables", async () => {
    const job = await launcherJob();
    const started = await api(cloud, 'POST', `/v2/${job.name}:run`, {
      overrides: { containerOverrides: [{ env: [{ name: 'TARGET_FILE_ID', value: 'img-1' }] }] },
    });
    expect(started.status, JSON.stringify(started)).toBe(200);
    const op = await waitFor(async () => {
      const res = await api(cloud, 'GET', `/v2/${started.body.name}`);
      return res.body.done ? res.body : undefined;
    }, 'the execution');
    expect(op.error, JSON.stringify(op)).toBeUndefined();
    const env = JSON.parse(readFileSync(join(job.out, 't0-a0.json'), 'utf8'));
    expect(env).toMatchObject({
      BACKEND_API_URL: BACKEND,
      STORAGE_URL: storageUrl,
      CALLBACK_AUTH: 'shared-secret',
      CALLBACK_SECRET: SECRET_VALUE,
      TARGET_FILE_ID: 'img-1',
    });
  });
});

describe('jobs created or patched with a pinned variable changed', () => {
  it('refuses v2 create, PATCH and allowMissing create with another BACKEND_API_URL or without it; stores nothing', async () => {
    const out = join(dir, 'never');
    const other = jobBody(launcherEnv(out, { BACKEND_API_URL: ELSEWHERE }));
    const without = jobBody(launcherEnv(out).filter((e) => e.name !== 'BACKEND_API_URL'));
    expectPinRefusal(await api(cloud, 'POST', `${J}?jobId=elsewhere`, other), 'BACKEND_API_URL');
    expectPinRefusal(await api(cloud, 'POST', `${J}?jobId=without`, without), 'BACKEND_API_URL');
    expectPinRefusal(
      await api(cloud, 'PATCH', `${J}/made-by-patch?allowMissing=true`, other),
      'BACKEND_API_URL',
    );
    for (const id of ['elsewhere', 'without', 'made-by-patch']) {
      expect((await api(cloud, 'GET', `${J}/${id}`)).status, id).toBe(404);
    }
    const job = await launcherJob();
    expectPinRefusal(await api(cloud, 'PATCH', `/v2/${job.name}`, other), 'BACKEND_API_URL');
    const kept = await api(cloud, 'GET', `/v2/${job.name}`);
    expect(kept.body.template.template.containers[0].env).toContainEqual({
      name: 'BACKEND_API_URL',
      value: BACKEND,
    });
  });

  it('refuses a v1 create and replace (gcloud run jobs create / replace) with another STORAGE_URL', async () => {
    const v1Job = (name: string) => ({
      apiVersion: 'run.googleapis.com/v1',
      kind: 'Job',
      metadata: { name },
      spec: {
        template: {
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    image: 'local/processor',
                    command: ['node', script],
                    env: launcherEnv(join(dir, 'never'), {
                      STORAGE_URL: pathToFileURL('/home').href,
                    }).map((e) =>
                      'valueSource' in e
                        ? {
                            name: e.name,
                            valueFrom: { secretKeyRef: { name: 'callback-secret', key: 'latest' } },
                          }
                        : e,
                    ),
                  },
                ],
              },
            },
          },
        },
      },
    });
    const v1 = (method: string, path: string, body: unknown) =>
      apiViaProxy(cloud, 'us-central1', method, `${NS}${path}`, body);
    expectPinRefusal(await v1('POST', '/jobs', v1Job('v1-elsewhere')), 'STORAGE_URL');
    expect((await api(cloud, 'GET', `${J}/v1-elsewhere`)).status).toBe(404);
    const job = await launcherJob();
    const id = job.name.split('/').at(-1) ?? '';
    expectPinRefusal(await v1('PUT', `/jobs/${id}`, v1Job(id)), 'STORAGE_URL');
  });
});

/**
 * Runs `before` on a local-cloud that pins nothing, stops it, then `after` on
 * one over the same data that pins BACKEND_API_URL (or what `second` sets);
 * `out` is the jobs' OUT_DIR, `data` local-cloud's data folder.
 */
async function acrossPinning(
  before: (first: RunningLocalCloud, out: string, data: string) => Promise<void>,
  after: (second: RunningLocalCloud, out: string, data: string) => Promise<void>,
  second: Partial<Parameters<typeof startCloud>[1]> = {
    jobPinnedEnv: { BACKEND_API_URL: BACKEND },
  },
): Promise<void> {
  const own = tempDir();
  const data = join(own, 'data');
  const out = join(own, 'out');
  mkdirSync(out);
  const first = await startCloud(data, { jobCommands: [['node', script]] });
  let later: RunningLocalCloud | undefined;
  try {
    await before(first, out, data);
    await first.stop();
    later = await startCloud(data, { jobCommands: [['node', script]], ...second });
    await after(later, out, data);
  } finally {
    await later?.stop();
    await first.stop();
    removeDir(own);
  }
}

/** A job body with BACKEND_API_URL elsewhere (and no secret: the first local-cloud registers none). */
function unpinnedJob(out: string, changes: Record<string, string> = {}) {
  return jobBody(
    launcherEnv(out, { BACKEND_API_URL: ELSEWHERE, ...changes }).filter(
      (e) => e.name !== 'CALLBACK_SECRET',
    ),
  );
}

describe('a job or execution stored before the variables were pinned', () => {
  it('does not run a stored job whose BACKEND_API_URL is not the pinned one', async () => {
    await acrossPinning(
      async (first, out) => {
        const created = await api(first, 'POST', `${J}?jobId=old`, unpinnedJob(out));
        expect(created.status, JSON.stringify(created)).toBe(200);
      },
      async (second, out) => {
        const run = await api(second, 'POST', `${J}/old:run`, {});
        expectPinRefusal(run, 'BACKEND_API_URL');
        expect(run.body.error.message).toContain('job container');
        expect(startsIn(out)).toEqual([]);
      },
    );
  });

  it('fails an unfinished execution with another BACKEND_API_URL at the restart instead of resuming it', async () => {
    let operation = '';
    await acrossPinning(
      async (first, out) => {
        const body = unpinnedJob(out, { MODE: 'wait-for-allow' });
        body.template.template.maxRetries = 1;
        expect((await api(first, 'POST', `${J}?jobId=unfinished`, body)).status).toBe(200);
        const started = await api(first, 'POST', `${J}/unfinished:run`, {});
        expect(started.status, JSON.stringify(started)).toBe(200);
        operation = started.body.name;
        await waitFor(() => (startsIn(out).length > 0 ? true : undefined), 'the first attempt');
      },
      async (second, out) => {
        // Were it resumed, the attempt would succeed.
        writeFileSync(join(out, 'allow'), '');
        const op = await waitFor(async () => {
          const res = await api(second, 'GET', `/v2/${operation}`);
          return res.body.done ? res.body : undefined;
        }, 'the execution to end');
        expect(op.error?.message, JSON.stringify(op)).toContain('BACKEND_API_URL');
        expect(op.error.message).toContain('LOCAL_CLOUD_JOB_PINNED_ENV');
        expect(startsIn(out)).toEqual(['t0-a0']);
      },
    );
  });

  it('resumes an unfinished execution whose CALLBACK_SECRET an earlier local-cloud stored in clear (blanked since) with the pinned secret', async () => {
    let operation = '';
    await acrossPinning(
      async (first, out, data) => {
        // As a stack from before secret references registered the processor: the secret inline.
        const env = launcherEnv(out, { MODE: 'wait-for-allow' }).filter(
          (e) => e.name !== 'CALLBACK_SECRET',
        );
        const body = jobBody([...env, { name: 'CALLBACK_SECRET', value: 'an-old-clear-value' }]);
        expect((await api(first, 'POST', `${J}?jobId=inline`, body)).status).toBe(200);
        const started = await api(first, 'POST', `${J}/inline:run`, {});
        expect(started.status, JSON.stringify(started)).toBe(200);
        operation = started.body.name;
        await waitFor(() => (startsIn(out).length > 0 ? true : undefined), 'the first attempt');
        await first.stop();
        // What db.ts's migration leaves of a secret stored in clear: an empty literal.
        const db = new Database(join(data, 'local-cloud.db'));
        try {
          db.prepare(
            `UPDATE job_executions SET data = replace(data, '"an-old-clear-value"', '""')`,
          ).run();
        } finally {
          db.close();
        }
      },
      async (second, out, data) => {
        writeFileSync(join(out, 'allow'), '');
        const op = await waitFor(async () => {
          const res = await api(second, 'GET', `/v2/${operation}`);
          return res.body.done ? res.body : undefined;
        }, 'the execution to end');
        expect(op.error, JSON.stringify(op)).toBeUndefined();
        const starts = startsIn(out);
        expect(starts.length).toBe(2);
        const env = JSON.parse(readFileSync(join(out, `${starts.at(-1)}.json`), 'utf8'));
        expect(env).toMatchObject({ BACKEND_API_URL: BACKEND, CALLBACK_SECRET: SECRET_VALUE });
        // Stored with the reference now, as every execution since secret references is.
        const db = new Database(join(data, 'local-cloud.db'), { readonly: true });
        try {
          const row = db.prepare('SELECT data FROM job_executions').get() as { data: string };
          const stored = JSON.parse(row.data).template.containers[0].env;
          expect(stored).toContainEqual({ name: 'CALLBACK_SECRET', valueSource: SECRET_REF });
        } finally {
          db.close();
        }
      },
      { jobPinnedEnv: pins(), secretFiles: { 'callback-secret': secretFile } },
    );
  });
});

describe('proxy variables', () => {
  it('refuses NODE_USE_ENV_PROXY and HTTP(S)_PROXY, which would send the callbacks through another host, in the job and in overrides', async () => {
    const out = join(dir, 'never');
    for (const [name, value] of [
      ['NODE_USE_ENV_PROXY', '1'],
      ['HTTP_PROXY', ELSEWHERE],
      ['https_proxy', ELSEWHERE],
    ] as const) {
      const created = await api(
        cloud,
        'POST',
        `${J}?jobId=proxy-${++seq}`,
        jobBody([...launcherEnv(out), { name, value }]),
      );
      expect(created, JSON.stringify(created)).toMatchObject({ status: 403 });
      expect(created.body.error.message).toContain('through another host');
    }
    const job = await launcherJob();
    const res = await api(cloud, 'POST', `/v2/${job.name}:run`, {
      overrides: { containerOverrides: [{ env: [{ name: 'NODE_USE_ENV_PROXY', value: '1' }] }] },
    });
    expect(res.status, JSON.stringify(res)).toBe(403);
    expect(await executionsOf(job.name)).toEqual([]);
  });
});
