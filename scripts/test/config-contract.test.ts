/**
 * The config contract between the deploy files and the apps: each Cloud Build
 * config and scripts/setup is run against the recording gcloud, the
 * environment each deploy command sets is read from what it really ran, the
 * variables Google's runtimes add are added (Cloud Run: PORT, K_*,
 * CLOUD_RUN_*; the workflow's TARGET_FILE_ID(S) overrides; Workflows'
 * built-ins), and the result is fed to each app's own loader: the backend's
 * and the processor's `loadConfig`, and the workflow's `read_config` step run
 * by local-cloud's engine. A deploy file and a config schema cannot drift
 * apart without one of these failing.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ERROR_CODES } from '@slideshow/contracts/error-codes';
import { ReportedFailureSource } from '@slideshow/contracts/processing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readJobLimits } from '../../tools/job-limits.ts';
import { readBuildConfig, runBuild } from './helpers/cloudbuild.ts';
import {
  cloudRunJobEnv,
  cloudRunServiceEnv,
  envOf,
  executeWorkflow,
  flag,
  loadBackendConfig,
  loadProcessorConfig,
  onlyCall,
  parseDictFlag,
  parseWorkflow,
  recordingContext,
  secretNamesOf,
  WorkflowRuntimeError,
  workflowOverrideEnvNames,
  workflowsBuiltInEnv,
  workflowUserEnvNames,
} from './helpers/deploy-env.ts';
import {
  createGcloudDouble,
  type GcloudDouble,
  notFound,
  type Recorded,
  runScript,
  scriptsDir,
} from './helpers/gcloud-double.ts';

const repoRoot = join(scriptsDir, '..');
const SHA = 'c0ffee0000000000000000000000000000000001';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const URL = 'https://backend-abc-ew.a.run.app';
const PROVIDED = { PROJECT_ID: 'demo', COMMIT_SHA: SHA, _BUCKET: 'demo-images', _BACKEND_URL: URL };
const PROCESSOR_ID = '111111111111111111111';
const WORKFLOW_ID = '222222222222222222222';
const RUN = 'googleapis.run.v2.projects.locations.jobs.run';
/** Admin tokens as long as the backend requires (32 characters at least). */
const ADMIN_TOKEN_ONE = 'token-one-0123456789abcdef0123456789';
const ADMIN_TOKEN_TWO = 'token-two-0123456789abcdef0123456789';
/** What scripts/setup stores in the two secrets (docs/deploy.md step 1). */
const SECRET_VALUES: Record<string, string> = {
  ADMIN_PASSWORD_HASH: 'scrypt$16384$8$1$c2FsdA==$aGFzaA==',
  ADMIN_TOKENS: `${ADMIN_TOKEN_ONE},${ADMIN_TOKEN_TWO}`,
};

/** One deploy's recorded gcloud calls. */
interface Deploys {
  backend: Recorded[];
  processor: Recorded[];
  workflows: Recorded[];
  setup: Recorded[];
}

/** `count` distinct image ids for a batch argument. */
function ids(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `img_${i}`);
}

/** Runs a workflow definition with a deploy's env; resolves with the jobs.run request it made. */
async function runWorkflow(
  source: string,
  userEnv: Record<string, string>,
  argument: unknown,
): Promise<Record<string, unknown>> {
  const ctx = recordingContext({
    env: { ...workflowsBuiltInEnv('demo', 'europe-west1'), ...userEnv },
    connectors: {
      [RUN]: async (args) => ({ name: `${String(args.name)}/executions/processor-abc` }),
    },
  });
  await executeWorkflow(parseWorkflow(source), argument, ctx);
  const call = ctx.connectorCalls.find((c) => c.name === RUN);
  if (!call) throw new Error('the workflow ran no job');
  return call.args;
}

/**
 * Asserts every variable a deploy sets is read by the loader: changing its
 * value changes the loaded configuration, or makes the loader refuse it. A
 * misspelt name (silently ignored by a schema) fails here.
 */
function expectEveryVariableUsed(
  env: Record<string, string>,
  names: string[],
  load: (env: Record<string, string>) => unknown,
): void {
  const base = JSON.stringify(load(env));
  for (const name of names) {
    const value = env[name] ?? '';
    const changed = /^[0-9]+$/.test(value) ? String(Number(value) + 1) : `${value}x`;
    let effect: string;
    try {
      effect = JSON.stringify(load({ ...env, [name]: changed }));
    } catch (error) {
      // Refused as invalid: the loader validates it, so it reads it.
      expect(error, name).toMatchObject({ code: 'VALIDATION_FAILED' });
      continue;
    }
    expect(effect, `${name} is set by the deploy but the loader ignores it`).not.toBe(base);
  }
}

describe('the config contract: every deploy file against the loader of the app it configures', () => {
  let gcloud: GcloudDouble;
  let workspace: string;
  const deploys: Deploys = { backend: [], processor: [], workflows: [], setup: [] };
  const limits = readJobLimits();
  let workflowSource = '';

  beforeAll(async () => {
    workflowSource = await readFile(
      join(repoRoot, 'workflows/process-image.workflows.yaml'),
      'utf8',
    );
    gcloud = await createGcloudDouble([
      { match: 'artifacts docker images describe *', stdout: DIGEST },
      { match: 'iam service-accounts describe slideshow-processor@*', stdout: PROCESSOR_ID },
      { match: 'iam service-accounts describe slideshow-workflow@*', stdout: WORKFLOW_ID },
      { match: `run services describe backend * --format=value(status.url)`, stdout: URL },
      // Both admin secrets have a version (the backend build checks before deploying).
      { match: 'secrets versions list *', stdout: '1' },
      notFound('*describe*'),
    ]);
    // Cloud Build's workspace is the uploaded source: the real job limits and workflow.
    workspace = await mkdtemp(join(tmpdir(), 'ops-contract-'));
    await mkdir(join(workspace, 'deploy'));
    await mkdir(join(workspace, 'workflows'));
    await copyFile(
      join(repoRoot, 'deploy/job-limits.env'),
      join(workspace, 'deploy/job-limits.env'),
    );
    await copyFile(
      join(repoRoot, 'workflows/process-image.workflows.yaml'),
      join(workspace, 'workflows/process-image.workflows.yaml'),
    );
    for (const [key, file] of [
      ['backend', 'backend.cloudbuild.yaml'],
      ['processor', 'processor.cloudbuild.yaml'],
      ['workflows', 'workflows.cloudbuild.yaml'],
    ] as const) {
      await gcloud.reset();
      const run = await runBuild(await readBuildConfig(file), PROVIDED, workspace, gcloud.env);
      if (run.failedStep) throw new Error(`${file} failed at ${run.failedStep}: ${run.stderr}`);
      deploys[key] = await gcloud.calls();
    }
    // scripts/setup on an empty project, from the real repository.
    await gcloud.reset();
    const setup = await runScript('setup', ['--project', 'demo'], gcloud.env);
    if (setup.status !== 0) throw new Error(`setup failed: ${setup.stderr}`);
    deploys.setup = await gcloud.calls();
  });
  afterAll(async () => {
    await gcloud.cleanup();
    await rm(workspace, { recursive: true, force: true });
  });

  describe('backend (cloudbuild/backend.cloudbuild.yaml)', () => {
    const deployed = () => {
      const argv = onlyCall(deploys.backend, 'run', 'deploy', 'backend');
      const env = envOf(argv);
      const secrets = Object.fromEntries(
        secretNamesOf(argv).map((name) => [name, SECRET_VALUES[name] ?? '']),
      );
      return { env, secrets, all: { ...cloudRunServiceEnv('backend'), ...env, ...secrets } };
    };

    it("starts: the backend's loadConfig accepts exactly what the deploy and Cloud Run give it", () => {
      const { all } = deployed();
      const config = loadBackendConfig(all, '/app');
      expect(config).toMatchObject({
        mode: 'production',
        port: 8080,
        host: '0.0.0.0',
        publicUrl: URL,
        storageUrl: 'gs://demo-images',
        publicMediaBaseUrl: 'https://storage.googleapis.com/demo-images/',
        callbackAuth: 'google',
        callbackAllowedEmails: [
          'slideshow-processor@demo.iam.gserviceaccount.com',
          'slideshow-workflow@demo.iam.gserviceaccount.com',
        ],
        callbackAllowedSubjects: [PROCESSOR_ID, WORKFLOW_ID],
        dispatch: 'cloud-tasks',
        project: 'demo',
        location: 'europe-west1',
        tasksServiceAccount: 'slideshow-tasks@demo.iam.gserviceaccount.com',
        databasePath: '/var/lib/slideshow/slideshow.db',
        adminTokens: [ADMIN_TOKEN_ONE, ADMIN_TOKEN_TWO],
        // The database bucket: Litestream's replica and the single-writer lease live there.
        litestream: { bucket: 'demo-images-db' },
        lease: { url: 'gs://demo-images-db/slideshow.db.lease' },
      });
    });

    it('sets no variable the backend ignores (each one changes the loaded configuration)', async () => {
      const { env, all } = deployed();
      expectEveryVariableUsed(all, Object.keys(env), (e) => loadBackendConfig(e, '/app'));
    });

    it('would not start without what the old deploy forgot: PUBLIC_MEDIA_BASE_URL', () => {
      const { all } = deployed();
      const { PUBLIC_MEDIA_BASE_URL: _, ...without } = all;
      expect(() => loadBackendConfig(without, '/app')).toThrow(
        'PUBLIC_MEDIA_BASE_URL: required in production',
      );
    });

    it('reads its secrets from the two secrets scripts/setup creates', () => {
      const argv = onlyCall(deploys.backend, 'run', 'deploy', 'backend');
      const secrets = parseDictFlag(flag(argv, 'set-secrets') ?? '');
      expect(secrets).toEqual({
        ADMIN_PASSWORD_HASH: 'slideshow-admin-password-hash:latest',
        ADMIN_TOKENS: 'slideshow-admin-tokens:latest',
      });
      const created = deploys.setup
        .filter((c) => c.argv[0] === 'secrets' && c.argv[1] === 'create')
        .map((c) => c.argv[2]);
      expect(created.sort()).toEqual(
        Object.values(secrets)
          .map((s) => s.replace(/:latest$/, ''))
          .sort(),
      );
    });
  });

  describe('processor (cloudbuild/processor.cloudbuild.yaml and scripts/setup)', () => {
    const overrideNames = () => workflowOverrideEnvNames(parse(workflowSource));

    it("the workflow overrides only the target ids and their generations, which the processor's loader reads", () => {
      expect(overrideNames()).toEqual([
        'TARGET_FILE_ID',
        'TARGET_FILE_IDS',
        'TARGET_GENERATION',
        'TARGET_GENERATIONS',
      ]);
    });

    for (const source of ['processor build', 'setup'] as const) {
      it(`starts every attempt of a single and a batch run with the env the ${source} deploys`, () => {
        const argv =
          source === 'setup'
            ? onlyCall(deploys.setup, 'run', 'jobs', 'create', 'processor')
            : onlyCall(deploys.processor, 'run', 'jobs', 'deploy', 'processor');
        const env = envOf(argv);
        const maxRetries = Number(flag(argv, 'max-retries'));
        expect(flag(argv, 'tasks')).toBe('1');
        for (let attempt = 0; attempt <= maxRetries; attempt += 1) {
          const single = loadProcessorConfig({
            ...env,
            ...cloudRunJobEnv('processor', { index: 0, attempt, count: 1 }),
            TARGET_FILE_ID: 'img_single',
            TARGET_GENERATION: '4',
          });
          expect(single).toMatchObject({
            imageId: 'img_single',
            generation: 4,
            backendUrl: URL,
            storageUrl: 'gs://demo-images',
            callbackAuth: 'google',
            callbackAudience: URL,
            maxRetries,
            attempt,
          });
          const batch = loadProcessorConfig({
            ...env,
            ...cloudRunJobEnv('processor', { index: 2, attempt, count: 3 }),
            TARGET_FILE_IDS: 'img_a,img_b,img_c',
            TARGET_GENERATIONS: '0,1,2',
          });
          expect(batch).toMatchObject({
            imageId: 'img_c',
            generation: 2,
            taskIndex: 2,
            taskCount: 3,
            maxRetries,
          });
        }
        expectEveryVariableUsed(
          {
            ...env,
            ...cloudRunJobEnv('processor', { index: 0, attempt: 0, count: 1 }),
            TARGET_FILE_ID: 'img_single',
          },
          Object.keys(env),
          (e) => loadProcessorConfig(e),
        );
      });
    }
  });

  describe('workflow (cloudbuild/workflows.cloudbuild.yaml and scripts/setup)', () => {
    const deployedEnvs = () => ({
      'workflows build': envOf(onlyCall(deploys.workflows, 'workflows', 'deploy', 'process-image')),
      setup: envOf(onlyCall(deploys.setup, 'workflows', 'deploy', 'process-image')),
    });

    it('each deploy sets only variables the workflow reads', () => {
      const read = workflowUserEnvNames(workflowSource);
      for (const [source, env] of Object.entries(deployedEnvs())) {
        for (const name of Object.keys(env)) expect(read, `${source}: ${name}`).toContain(name);
      }
    });

    it("runs the real workflow with each deploy's env: the right job, its task timeout, within the wait budget", async () => {
      const jobArgv = onlyCall(deploys.processor, 'run', 'jobs', 'deploy', 'processor');
      for (const [source, env] of Object.entries(deployedEnvs())) {
        const single = await runWorkflow(workflowSource, env, { file_id: 'img_1' });
        expect(single, source).toMatchObject({
          name: 'projects/demo/locations/europe-west1/jobs/processor',
          body: { overrides: { timeout: flag(jobArgv, 'task-timeout'), taskCount: 1 } },
        });
        const batch = await runWorkflow(workflowSource, env, { file_ids: ['a', 'b', 'c'] });
        expect(batch, source).toMatchObject({
          body: { overrides: { timeout: flag(jobArgv, 'task-timeout'), taskCount: 3 } },
        });
        // A batch larger than the deployed JOB_PARALLELISM runs as that many tasks.
        const large = await runWorkflow(workflowSource, env, {
          file_ids: ids(limits.jobParallelism + 1),
        });
        expect(large, source).toMatchObject({
          body: { overrides: { taskCount: limits.jobParallelism } },
        });
        expect(env.BACKEND_URL, source).toBe(URL);
      }
    });

    it('refuses a task timeout with a unit, the way `--task-timeout 10m` used to reach it', async () => {
      const env = { ...deployedEnvs()['workflows build'], TASK_TIMEOUT_SECONDS: '10m' };
      const error = await runWorkflow(workflowSource, env, { file_id: 'img_1' }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(WorkflowRuntimeError);
      expect(JSON.stringify((error as WorkflowRuntimeError).value)).toContain('ValueError');
    });
  });

  describe('job limits: one definition (deploy/job-limits.env), everywhere the same', () => {
    it('the job, its MAX_RETRIES, the workflow env (JOB_PARALLELISM included) and the defaults all carry the values of deploy/job-limits.env', async () => {
      const timeout = `${limits.taskTimeoutSeconds}s`;
      const retries = String(limits.maxRetries);
      for (const argv of [
        onlyCall(deploys.processor, 'run', 'jobs', 'deploy', 'processor'),
        onlyCall(deploys.setup, 'run', 'jobs', 'create', 'processor'),
      ]) {
        expect(flag(argv, 'max-retries')).toBe(retries);
        expect(flag(argv, 'task-timeout')).toBe(timeout);
        expect(envOf(argv).MAX_RETRIES).toBe(retries);
        // No --parallelism: each run's taskCount (at most JOB_PARALLELISM) is the bound
        // (docs/operations.md "Batch ingest"); a job-level value would be a second definition.
        expect(argv.filter((a) => a.startsWith('--parallelism'))).toEqual([]);
      }
      for (const argv of [
        onlyCall(deploys.workflows, 'workflows', 'deploy', 'process-image'),
        onlyCall(deploys.setup, 'workflows', 'deploy', 'process-image'),
      ]) {
        expect(envOf(argv)).toMatchObject({
          MAX_RETRIES: retries,
          TASK_TIMEOUT_SECONDS: String(limits.taskTimeoutSeconds),
          JOB_PARALLELISM: String(limits.jobParallelism),
        });
      }
      // Defaults, for a job or workflow deployed without the variables.
      const defaults = loadProcessorConfig({
        BACKEND_API_URL: URL,
        GCS_BUCKET_NAME: 'demo-images',
        TARGET_FILE_ID: 'img_1',
      });
      expect(defaults.maxRetries).toBe(limits.maxRetries);
      for (const [name, value] of [
        ['MAX_RETRIES', limits.maxRetries],
        ['TASK_TIMEOUT_SECONDS', limits.taskTimeoutSeconds],
        ['JOB_PARALLELISM', limits.jobParallelism],
      ] as const) {
        expect(workflowSource).toContain(`default(sys.get_env("${name}"), "${value}")`);
      }
      const bare = await runWorkflow(workflowSource, {}, { file_id: 'img_1' });
      expect(bare).toMatchObject({ body: { overrides: { timeout } } });
      const batch = { file_ids: ids(limits.jobParallelism + 1) };
      const bareBatch = await runWorkflow(workflowSource, {}, batch);
      expect(bareBatch).toMatchObject({
        body: { overrides: { taskCount: limits.jobParallelism } },
      });
      // The local stack registers its job from the same file (tools/job-limits.ts), and
      // overrides JOB_PARALLELISM through one named local constant, not a literal.
      const localStack = await readFile(join(repoRoot, 'tools/local-stack.ts'), 'utf8');
      expect(localStack).toContain('readJobLimits()');
      expect(localStack).not.toMatch(/maxRetries \?\? \d|taskTimeoutSeconds \?\? \d/);
      const provisioning = await readFile(join(repoRoot, 'tools/local-provision.ts'), 'utf8');
      expect(provisioning).toContain('JOB_PARALLELISM: String(LOCAL_JOB_PARALLELISM)');
    });

    it('fits the workflow wait budget: one image needs at most the 7,200 s the connector waits', () => {
      // run_processor_job in the workflow: 300 + task_timeout × (max_retries + 1) ≤ 7200.
      expect(300 + limits.taskTimeoutSeconds * (limits.maxRetries + 1)).toBeLessThanOrEqual(7200);
    });

    it('no deploy file types the limits by hand', async () => {
      for (const file of ['processor.cloudbuild.yaml', 'workflows.cloudbuild.yaml']) {
        const text = await readFile(join(repoRoot, 'cloudbuild', file), 'utf8');
        expect(text, file).toContain('source deploy/job-limits.env');
        expect(text, file).not.toMatch(
          /MAX_RETRIES=\d|max-retries=\d|TIMEOUT[A-Z_]*[=:] *"?\d|PARALLELISM[=:] *"?\d|parallelism=\d/,
        );
      }
      const setup = await readFile(join(scriptsDir, 'setup'), 'utf8');
      expect(setup).toContain('source "$JOB_LIMITS"');
      expect(setup).not.toMatch(
        /MAX_RETRIES=\d|max-retries=\d|TASK_TIMEOUT[A-Z_]*=\d|PARALLELISM=\d|parallelism=\d/,
      );
    });
  });

  it("the workflow's failure reports use codes and a source the backend's contract accepts", async () => {
    // The YAML writes them as plain strings, outside the type check: a code the
    // contract lacks would make every report of that failure a 400.
    const yamlText = await readFile(
      join(repoRoot, 'workflows/process-image.workflows.yaml'),
      'utf8',
    );
    const codes = new Set<string>();
    const sources = new Set<string>();
    const walk = (node: unknown): void => {
      // Object.entries walks a list's items as well as a map's values.
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        const literal = typeof value === 'string' && !value.startsWith('${');
        if (key === 'failure_code' && literal) codes.add(value);
        if (key === 'source' && literal) sources.add(value);
        walk(value);
      }
    };
    walk(parse(yamlText));
    expect([...codes].sort()).toEqual(['JOB_FAILED', 'JOB_REFUSED', 'TIMEOUT']);
    for (const code of codes) expect(ERROR_CODES, code).toContain(code);
    expect([...sources]).toEqual(['workflow']);
    for (const source of sources)
      expect(ReportedFailureSource.safeParse(source).success).toBe(true);
  });
});
