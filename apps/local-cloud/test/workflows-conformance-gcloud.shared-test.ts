/**
 * The Workflows conformance suite through the real gcloud: `gcloud workflows
 * deploy` refuses what Google refuses (with the line), `gcloud workflows run`
 * returns what Google documents. gcloud sends the local OAuth token from an
 * access-token file (CLOUDSDK_AUTH_ACCESS_TOKEN_FILE, the `auth/access_token_file`
 * property), which executions.create requires. Runs in the shared suite (it
 * needs a machine with gcloud); skipped, saying so, without gcloud.
 */
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostEnvironment } from '../src/config.ts';
import type { RunningLocalCloud } from '../src/server.ts';
import { barrierServer } from '../src/workflows/test-barriers.ts';
import { CONFORMANCE_DIR, REJECTED, SUCCEEDING } from './conformance-cases.ts';
import { removeDir, startCloud, tempDir } from './helpers.ts';

const execFileAsync = promisify(execFile);
const hasGcloud = spawnSync('gcloud', ['--version'], { stdio: 'ignore' }).status === 0;
/** The real gcloud takes seconds per call on a loaded 2-core machine. */
const TEST_TIMEOUT_MS = 180_000;
let dir: string;
let cloud: RunningLocalCloud;

async function gcloud(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync('gcloud', [...args, '--location=us-central1'], {
    timeout: 90_000,
    env: {
      PATH: hostEnvironment().PATH,
      HOME: dir,
      CLOUDSDK_CONFIG: join(dir, 'gcloud-config'),
      CLOUDSDK_CORE_PROJECT: 'local-project',
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: join(dir, 'token'),
      CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWS: `${cloud.url}/`,
      CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWEXECUTIONS: `${cloud.url}/`,
    },
  });
}

const file = (name: string) => `--source=${CONFORMANCE_DIR}${name}.workflows.yaml`;

// biome-ignore lint/suspicious/noExplicitAny: Google JSON.
async function deployAndRun(id: string, name: string, argument: unknown): Promise<any> {
  await gcloud('workflows', 'deploy', id, file(name), '--format=none');
  const { stdout } = await gcloud(
    'workflows',
    'run',
    id,
    `--data=${JSON.stringify(argument)}`,
    '--format=json',
  );
  return JSON.parse(stdout);
}

describe.skipIf(!hasGcloud)(
  'the Workflows conformance suite through the real gcloud (skipped when gcloud is not installed)',
  () => {
    beforeAll(async () => {
      dir = tempDir();
      cloud = await startCloud(join(dir, 'data'), { projectId: 'local-project' });
      writeFileSync(join(dir, 'token'), cloud.oauthToken);
    });
    afterAll(async () => {
      await cloud?.stop();
      removeDir(dir);
    });

    it('gcloud workflows run returns what Google documents for each succeeding workflow', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      for (const { name, argument, result } of SUCCEEDING) {
        const execution = await deployAndRun(name, name, argument);
        expect(execution, name).toMatchObject({ state: 'SUCCEEDED' });
        expect(JSON.parse(execution.result), name).toEqual(result);
      }
      const server = await barrierServer(2, 20_000);
      try {
        const execution = await deployAndRun('branches', 'parallel-branches', { base: server.url });
        expect(JSON.parse(execution.result)).toEqual({ north: '/north', south: '/south' });
      } finally {
        await server.close();
      }
    });

    it('gcloud workflows run shows a raised string as Google does: payload, context and stack trace', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const execution = await deployAndRun('raise-string', 'raise-string', null);
      expect(execution).toMatchObject({
        state: 'FAILED',
        error: {
          payload: '"disk full"',
          context: 'disk full\nin step "check_space", routine "archive", line: 14',
          stackTrace: { elements: [{ step: 'check_space' }, { step: 'delegate' }] },
        },
        status: { currentSteps: [{ routine: 'archive', step: 'check_space' }] },
      });
    });

    it('gcloud workflows deploy refuses each rejected workflow, naming the line', {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      for (const { name, message } of REJECTED) {
        const failure = await gcloud(
          'workflows',
          'deploy',
          `rejected-${name}`,
          file(`rejected/${name}`),
        ).then(
          () => undefined,
          (error: { stderr?: string }) => error.stderr ?? '',
        );
        expect(failure, name).toContain(`INVALID_ARGUMENT: Workflow is invalid: ${message}`);
      }
    });
  },
);
