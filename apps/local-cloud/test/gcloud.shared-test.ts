/**
 * The real gcloud CLI against local-cloud, with the endpoint overrides the
 * README documents and local-cloud's token as gcloud's access token
 * (CLOUDSDK_AUTH_ACCESS_TOKEN_FILE). Runs in the shared suite (it needs a
 * machine with gcloud); skipped, saying so, without gcloud.
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { coerceError } from '@slideshow/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostEnvironment } from '../src/config.ts';
import type { RunningLocalCloud } from '../src/server.ts';
import { api, removeDir, startCloud, tempDir, waitFor } from './helpers.ts';

const run = promisify(execFile);

function gcloudInstalled(): boolean {
  try {
    execFileSync('gcloud', ['--version'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch (error) {
    const e = coerceError(error);
    if (/ENOENT/.test(e.message)) return false;
    throw e;
  }
}

const hasGcloud = gcloudInstalled();
let dir: string;
let cloud: RunningLocalCloud;

async function gcloud(...args: string[]): Promise<string> {
  return gcloudWith({ CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: cloud.tokenFile }, ...args);
}

async function gcloudWith(auth: Record<string, string>, ...args: string[]): Promise<string> {
  const { stdout } = await run('gcloud', [...args, '--location=us-central1'], {
    timeout: 90_000,
    env: {
      PATH: hostEnvironment().PATH,
      HOME: dir,
      CLOUDSDK_CONFIG: join(dir, 'gcloud-config'),
      CLOUDSDK_CORE_PROJECT: 'local-project',
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      ...auth,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS: `${cloud.url}/`,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWS: `${cloud.url}/`,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWEXECUTIONS: `${cloud.url}/`,
    },
  });
  return stdout;
}

describe.skipIf(!hasGcloud)(
  'gcloud against local-cloud (skipped when gcloud is not installed)',
  () => {
    beforeAll(async () => {
      dir = tempDir();
      cloud = await startCloud(join(dir, 'data'), { projectId: 'local-project' });
    });
    afterAll(async () => {
      await cloud?.stop();
      removeDir(dir);
    });

    it('creates, describes, pauses, resumes and lists a queue', async () => {
      await gcloud(
        'tasks',
        'queues',
        'create',
        'images',
        '--max-attempts=5',
        '--max-dispatches-per-second=20',
      );
      const described = JSON.parse(
        await gcloud('tasks', 'queues', 'describe', 'images', '--format=json'),
      );
      expect(described).toMatchObject({
        name: 'projects/local-project/locations/us-central1/queues/images',
        state: 'RUNNING',
        rateLimits: { maxDispatchesPerSecond: 20 },
        retryConfig: { maxAttempts: 5 },
      });
      await gcloud('tasks', 'queues', 'pause', 'images');
      const paused = JSON.parse(
        await gcloud('tasks', 'queues', 'describe', 'images', '--format=json'),
      );
      expect(paused.state).toBe('PAUSED');
      await gcloud('tasks', 'queues', 'resume', 'images');
      const listed = JSON.parse(await gcloud('tasks', 'queues', 'list', '--format=json'));
      expect(listed).toEqual([expect.objectContaining({ name: described.name, state: 'RUNNING' })]);
    });

    it('lists and describes tasks in a paused queue', async () => {
      await gcloud('tasks', 'queues', 'create', 'held');
      await gcloud('tasks', 'queues', 'pause', 'held');
      await gcloud(
        'tasks',
        'create-http-task',
        'task-1',
        '--queue=held',
        '--url=http://127.0.0.1:9/never',
        '--oidc-service-account-email=sa@local-project.iam.gserviceaccount.com',
      );
      const tasks = JSON.parse(await gcloud('tasks', 'list', '--queue=held', '--format=json'));
      expect(tasks.map((t: { name: string }) => t.name.split('/').pop())).toEqual(['task-1']);
      const task = JSON.parse(
        await gcloud('tasks', 'describe', 'task-1', '--queue=held', '--format=json'),
      );
      expect(task).toMatchObject({
        dispatchCount: 0,
        httpRequest: { url: 'http://127.0.0.1:9/never' },
      });
    });

    it('deploys a workflow with env vars, and lists and describes its executions', async () => {
      const source = join(dir, 'hello.yaml');
      writeFileSync(
        source,
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Workflows expression syntax, not a JS template.
        'main:\n  params: [args]\n  steps:\n    - done:\n        return: ${sys.get_env("GREETING") + " " + args.name}\n',
      );
      await gcloud(
        'workflows',
        'deploy',
        'hello',
        `--source=${source}`,
        '--set-env-vars=GREETING=hi',
      );
      const wf = JSON.parse(await gcloud('workflows', 'describe', 'hello', '--format=json'));
      expect(wf).toMatchObject({ state: 'ACTIVE', userEnvVars: { GREETING: 'hi' } });
      // executions.create carries gcloud's access token: local-cloud's.
      const created = {
        body: JSON.parse(
          await gcloud(
            'workflows',
            'run',
            'hello',
            `--data=${JSON.stringify({ name: 'gcloud' })}`,
            '--format=json',
          ),
        ) as { name: string; state: string },
      };
      await waitFor(async () => {
        const e = await api(cloud, 'GET', `/v1/${created.body.name}`);
        return e.body.state === 'SUCCEEDED' ? true : undefined;
      }, 'the execution');
      const list = JSON.parse(
        await gcloud('workflows', 'executions', 'list', 'hello', '--format=json'),
      );
      expect(list).toEqual([
        expect.objectContaining({ name: created.body.name, state: 'SUCCEEDED' }),
      ]);
      const described = JSON.parse(
        await gcloud('workflows', 'executions', 'describe', created.body.name, '--format=json'),
      );
      expect(described).toMatchObject({ state: 'SUCCEEDED', result: '"hi gcloud"' });
    });

    it('pages through executions with the page tokens: each once, newest first', async () => {
      const W = `/v1/${cloud.parent}/workflows`;
      const deployed = await api(cloud, 'POST', `${W}?workflowId=paged`, {
        sourceContents: 'main:\n  steps:\n    - done:\n        return: 1\n',
      });
      expect(deployed, JSON.stringify(deployed)).toMatchObject({ status: 200 });
      const names: string[] = [];
      for (let i = 0; i < 5; i++) {
        const created = await api(cloud, 'POST', `${W}/paged/executions`, {});
        expect(created, JSON.stringify(created)).toMatchObject({ status: 200 });
        names.unshift(created.body.name);
        await cloud.executionFinished(created.body.name);
      }
      // --page-size=2: gcloud asks for 3 pages, sending back each nextPageToken.
      const listed = JSON.parse(
        await gcloud('workflows', 'executions', 'list', 'paged', '--page-size=2', '--format=json'),
      ) as { name: string }[];
      expect(listed.map((e) => e.name)).toEqual(names);
      const limited = JSON.parse(
        await gcloud('workflows', 'executions', 'list', 'paged', '--limit=3', '--format=json'),
      ) as { name: string }[];
      expect(limited.map((e) => e.name)).toEqual(names.slice(0, 3));
    });

    it('is refused without the token (credentials disabled, or another token)', async () => {
      const cases: Record<string, string>[] = [
        { CLOUDSDK_AUTH_DISABLE_CREDENTIALS: 'true' },
        { CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(dir, 'wrong-token') },
      ];
      for (const auth of cases) {
        writeFileSync(join(dir, 'wrong-token'), 'not-local-clouds-token-at-all');
        const failed = await gcloudWith(auth, 'tasks', 'queues', 'list', '--format=json').then(
          () => undefined,
          (error: unknown) => coerceError(error).message,
        );
        expect(failed, JSON.stringify(auth)).toMatch(
          /401|UNAUTHENTICATED|authentication credential/i,
        );
      }
    });
  },
);
