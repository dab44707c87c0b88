/**
 * End-to-end through the real processes: backend → local-cloud Cloud Tasks →
 * Workflow Executions → workflows/process-image.workflows.yaml → Cloud Run job
 * → processor child process → callbacks → SQLite. Few tests, each proving one
 * failure semantic of docs/architecture.md#who-retries-what.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { DEFAULT_PRESET } from '@slideshow/imaging';
import { makeSampleImages, makeTruncatedJpeg } from '@slideshow/tools/sample-images';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_ENTRIES } from '../faults/entries.ts';
import { failedTask, freshStack, hasGcloud, upload, waitForTerminal } from './helpers.ts';

type Stack = Awaited<ReturnType<typeof freshStack>>;

interface RunExecution {
  name: string;
  taskCount?: number;
  succeededCount?: number;
  failedCount?: number;
  retriedCount?: number;
}

async function jobExecutions(stack: Stack): Promise<RunExecution[]> {
  const response = await stack.localCloud(`/v2/${stack.parent}/jobs/processor/executions`);
  const body = (await response.json()) as { executions?: RunExecution[] };
  return body.executions ?? [];
}

describe('the local pipeline', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await freshStack();
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  it('turns an upload into a processed image with its variants on disk', async () => {
    const [sample] = await makeSampleImages(1);
    const [id] = await upload(stack, [sample!]);
    const [row] = await waitForTerminal(stack, [id!]);
    expect(row?.status).toBe('processed');
    const variants = JSON.parse(row?.variants ?? '[]') as { suffix: string }[];
    expect(variants.length).toBeGreaterThanOrEqual(3);
    const detail = (await (await stack.admin(`/api/images/${id}`)).json()) as {
      variantPrefix?: string;
    };
    const prefix = detail.variantPrefix ?? `variants/${id}/${DEFAULT_PRESET}/g${row?.generation}/`;
    for (const variant of variants) {
      expect(
        existsSync(join(stack.dataDir, 'storage', prefix, variant.suffix)),
        variant.suffix,
      ).toBe(true);
    }
  }, 120_000);

  it("keeps the callback secret out of local-cloud's answers: the processor job holds a reference", async () => {
    const job = await stack.localCloud(`/v2/${stack.parent}/jobs/processor`);
    const text = await job.text();
    expect(job.status, text).toBe(200);
    expect(text).not.toContain(stack.callbackSecret);
    const env = (
      JSON.parse(text) as {
        template: {
          template: { containers: { env: { name: string; valueSource?: unknown }[] }[] };
        };
      }
    ).template.template.containers[0]?.env;
    expect(env).toContainEqual({
      name: 'CALLBACK_SECRET',
      valueSource: { secretKeyRef: { secret: 'callback-secret', version: 'latest' } },
    });
    for (const path of [
      `/v2/${stack.parent}/jobs`,
      `/v2/${stack.parent}/jobs/processor/executions`,
    ]) {
      expect(await (await stack.localCloud(path)).text()).not.toContain(stack.callbackSecret);
    }
    // Without local-cloud's token nothing is answered at all.
    expect((await fetch(`${stack.localCloudUrl}/v2/${stack.parent}/jobs/processor`)).status).toBe(
      401,
    );
  });

  it('refuses a jobs:run that points the processor at another backend or store (the callback secret stays home)', async () => {
    const heard: string[] = [];
    const listener = createServer((req, res) => {
      heard.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    try {
      const elsewhere = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
      const before = (await jobExecutions(stack)).length;
      for (const [name, value] of [
        ['BACKEND_API_URL', elsewhere],
        ['STORAGE_URL', pathToFileURL(join(stack.dataDir, 'elsewhere')).href],
      ] as const) {
        const env = [
          { name, value },
          { name: 'TARGET_FILE_ID', value: 'any-image' },
          { name: 'TARGET_GENERATION', value: '0' },
        ];
        const response = await stack.localCloud(`/v2/${stack.parent}/jobs/processor:run`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ overrides: { taskCount: 1, containerOverrides: [{ env }] } }),
        });
        const text = await response.text();
        expect(response.status, text).toBe(403);
        expect(text).toContain('PERMISSION_DENIED');
        expect(text).toContain(name);
      }
      // No execution started, so no processor ran to call the listener.
      expect((await jobExecutions(stack)).length).toBe(before);
      expect(heard).toEqual([]);
    } finally {
      listener.closeAllConnections();
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it('records a corrupt image in failed_tasks from the processor after one attempt', async () => {
    const corrupt = await makeTruncatedJpeg();
    const [id] = await upload(stack, [corrupt]);
    const [row] = await waitForTerminal(stack, [id!]);
    expect(row?.status).toBe('failed');
    const failure = failedTask(stack, id!);
    expect(failure).toMatchObject({
      source: 'processor',
      error_code: 'CORRUPT_IMAGE',
      attempt_count: 1,
    });
  }, 120_000);

  it('fails an upload at once as JOB_REFUSED when the workflow names no job, and processes it on retry once that is fixed', async () => {
    const path = `/v1/${stack.parent}/workflows/process-image`;
    const deployed = (await (await stack.localCloud(path)).json()) as {
      userEnvVars: Record<string, string>;
    };
    // A broken deploy: the workflow's PROCESSOR_JOB names a job that does not exist.
    const redeploy = async (userEnvVars: Record<string, string>) => {
      const response = await stack.localCloud(`${path}?updateMask=userEnvVars`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ userEnvVars }),
      });
      expect(response.status, await response.text()).toBe(200);
    };
    await redeploy({ ...deployed.userEnvVars, PROCESSOR_JOB: 'no-such-job' });
    try {
      // Bytes of its own: the same bytes as an earlier test's would be that image again.
      const [sample] = await makeSampleImages(1);
      const bytes = await sharp(sample!.bytes).jpeg({ quality: 70 }).toBuffer();
      const [id] = await upload(stack, [{ name: 'refused.jpg', bytes }]);
      const [row] = await waitForTerminal(stack, [id!]);
      expect(row?.status).toBe('failed');
      const failure = failedTask(stack, id!);
      expect(failure).toMatchObject({ source: 'workflow', error_code: 'JOB_REFUSED' });
      expect(failure?.error_message).toContain(`/jobs/no-such-job (HTTP 404)`);
      await redeploy(deployed.userEnvVars);
      const retried = await stack.admin(`/api/admin/images/${id}/retry`, { method: 'POST' });
      expect(retried.status, await retried.text()).toBe(202);
      const [after] = await waitForTerminal(stack, [id!]);
      expect(after?.status).toBe('processed');
      expect(failedTask(stack, id!)?.resolved_at).not.toBeNull();
    } finally {
      await redeploy(deployed.userEnvVars);
    }
  }, 240_000);

  it('finishes every image when local-cloud is killed mid-queue and restarted', async () => {
    const samples = (await makeSampleImages(6))
      .slice(0, 6)
      .map((s, i) => ({ ...s, name: `restart-${i}-${s.name}` }));
    const ids = await upload(stack, samples);
    await stack.restartLocalCloud({ hard: true });
    const rows = await waitForTerminal(stack, ids, 240_000);
    expect(rows.map((r) => r.status)).toEqual(ids.map(() => 'processed'));
  }, 300_000);
});

describe('a processor that is killed on every attempt', () => {
  let stack: Stack;
  beforeAll(async () => {
    // PROCESSOR_FAULT=sigkill makes every attempt die the way an OOM kill does:
    // SIGKILL, no chance to report. Only the workflow's `except` can. The
    // processor's fault entry honours it (its bundle has no fault switch).
    stack = await freshStack({
      maxRetries: 3,
      entries: { processor: FAULT_ENTRIES.processor },
      processorEnv: { PROCESSOR_FAULT: 'sigkill' },
    });
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  it('is retried maxRetries times, then the workflow records the failure', async () => {
    const [sample] = await makeSampleImages(1);
    const [id] = await upload(stack, [sample!]);
    const [row] = await waitForTerminal(stack, [id!], 180_000);
    expect(row?.status).toBe('failed');
    expect(failedTask(stack, id!)).toMatchObject({ source: 'workflow' });
    const executions = await jobExecutions(stack);
    expect(executions).toHaveLength(1);
    // Execution.retriedCount counts tasks retried at least once (Cloud Run v2);
    // the Task resource says how many times that task was retried.
    expect(executions[0]).toMatchObject({ taskCount: 1, failedCount: 1, retriedCount: 1 });
    const tasks = (await (await stack.localCloud(`/v2/${executions[0]?.name}/tasks`)).json()) as {
      tasks: { index: number; retried: number }[];
    };
    expect(tasks.tasks).toEqual([expect.objectContaining({ index: 0, retried: 3 })]);
  }, 300_000);
});

describe.skipIf(!hasGcloud())(
  'a queue paused with gcloud (skipped where the Google Cloud CLI is not installed)',
  () => {
    let stack: Stack;
    let config: string;
    beforeAll(async () => {
      stack = await freshStack();
      config = mkdtempSync(join(tmpdir(), 'gcloud-config-'));
    });
    afterAll(async () => {
      await stack?.dispose();
      if (config) rmSync(config, { recursive: true, force: true });
    });

    const gcloud = (...args: string[]) => {
      const result = spawnSync(
        'gcloud',
        [...args, `--location=${stack.location}`, '--format=json'],
        {
          encoding: 'utf8',
          timeout: 60_000,
          env: {
            ...process.env,
            CLOUDSDK_CONFIG: config,
            CLOUDSDK_CORE_PROJECT: stack.projectId,
            CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
            CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: stack.localCloudTokenFile,
            CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS: `${stack.localCloudUrl}/`,
          },
        },
      );
      if (result.status !== 0) throw new Error(`gcloud ${args.join(' ')} failed: ${result.stderr}`);
      return result.stdout.trim() ? (JSON.parse(result.stdout) as unknown) : undefined;
    };

    it('holds the work until the queue is resumed', async () => {
      gcloud('tasks', 'queues', 'pause', 'image-uploads');
      expect(gcloud('tasks', 'queues', 'describe', 'image-uploads')).toMatchObject({
        state: 'PAUSED',
      });
      const [sample] = await makeSampleImages(1);
      const [id] = await upload(stack, [sample!]);

      // The relay creates the task; the paused queue keeps it.
      let tasks: unknown[] = [];
      for (let i = 0; i < 100 && tasks.length === 0; i++) {
        tasks = (gcloud('tasks', 'list', '--queue=image-uploads') as unknown[]) ?? [];
        if (tasks.length === 0) await sleep(200);
      }
      expect(tasks).toHaveLength(1);
      const image = (await (await stack.admin(`/api/images/${id}`)).json()) as { status: string };
      expect(image.status).toBe('queued');

      gcloud('tasks', 'queues', 'resume', 'image-uploads');
      const [row] = await waitForTerminal(stack, [id!]);
      expect(row?.status).toBe('processed');
    }, 180_000);
  },
);
