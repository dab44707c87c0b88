import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readBuildConfig, runBuild, substitute } from './helpers/cloudbuild.ts';
import { createGcloudDouble, type GcloudDouble, type Rule } from './helpers/gcloud-double.ts';

const SHA = 'c0ffee0000000000000000000000000000000001';
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const URL = 'https://backend-abc-ew.a.run.app';
const AR = 'europe-west1-docker.pkg.dev/demo/slideshow';
const PROVIDED = { PROJECT_ID: 'demo', COMMIT_SHA: SHA, _BUCKET: 'demo-images', _BACKEND_URL: URL };
/** Unique IDs of the processor and workflow accounts (the `sub` of their ID tokens). */
const PROCESSOR_ID = '111111111111111111111';
const WORKFLOW_ID = '222222222222222222222';
/** The two admin secrets' version listings (`gcloud secrets versions list … --format=value(name)`). */
const HASH_VERSIONS = 'secrets versions list slideshow-admin-password-hash *';
const TOKEN_VERSIONS = 'secrets versions list slideshow-admin-tokens *';
const RULES: Rule[] = [
  { match: HASH_VERSIONS, stdout: '2' },
  { match: TOKEN_VERSIONS, stdout: '1' },
  { match: 'artifacts docker images describe *', stdout: DIGEST },
  {
    match: 'iam service-accounts describe slideshow-processor@demo.iam.gserviceaccount.com *',
    stdout: PROCESSOR_ID,
  },
  {
    match: 'iam service-accounts describe slideshow-workflow@demo.iam.gserviceaccount.com *',
    stdout: WORKFLOW_ID,
  },
];

describe('the Cloud Build configs, run step by step against a recording gcloud', () => {
  let gcloud: GcloudDouble;
  let workspace = '';

  beforeAll(async () => {
    gcloud = await createGcloudDouble();
  });
  afterAll(async () => {
    await gcloud.cleanup();
    await rm(workspace, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await gcloud.reset();
    await gcloud.setRules(RULES);
    if (workspace) await rm(workspace, { recursive: true, force: true });
    // The build's workspace is the uploaded source: the deploy steps read its
    // deploy/job-limits.env (here with values of its own, to see them used).
    workspace = await mkdtemp(join(tmpdir(), 'ops-workspace-'));
    await mkdir(join(workspace, 'deploy'));
    await writeFile(
      join(workspace, 'deploy/job-limits.env'),
      '# test\nMAX_RETRIES=5\nTASK_TIMEOUT_SECONDS=1200\nJOB_PARALLELISM=4\n',
    );
  });

  /** Runs one config of cloudbuild/ in this test's workspace against the recording gcloud. */
  const build = async (file: string, substitutions: Record<string, string> = PROVIDED) =>
    runBuild(await readBuildConfig(file), substitutions, workspace, gcloud.env);

  it('builds the backend, makes sure it is public, deploys exactly the pushed digest and sends it all traffic', async () => {
    const config = await readBuildConfig('backend.cloudbuild.yaml');
    const run = await runBuild(config, PROVIDED, workspace, gcloud.env);
    expect(run.failedStep, run.stderr).toBeUndefined();
    expect(run.log).toEqual([
      `docker build --file=apps/backend/Dockerfile --tag=${AR}/backend:${SHA} .`,
      `docker push ${AR}/backend:${SHA}`,
    ]);
    const calls = (await gcloud.calls()).map((c) => c.argv);
    const sa = (n: string) => `slideshow-${n}@demo.iam.gserviceaccount.com`;
    const versions = (secret: string) => [
      'secrets',
      'versions',
      'list',
      secret,
      '--project=demo',
      '--filter=state=ENABLED',
      '--limit=1',
      '--format=value(name)',
    ];
    expect(calls).toEqual([
      versions('slideshow-admin-password-hash'),
      versions('slideshow-admin-tokens'),
      [
        'artifacts',
        'docker',
        'images',
        'describe',
        `${AR}/backend:${SHA}`,
        '--format=value(image_summary.digest)',
      ],
      [
        'run',
        'services',
        'add-iam-policy-binding',
        'backend',
        '--region=europe-west1',
        '--member=allUsers',
        '--role=roles/run.invoker',
      ],
      ['iam', 'service-accounts', 'describe', sa('processor'), '--format=value(uniqueId)'],
      ['iam', 'service-accounts', 'describe', sa('workflow'), '--format=value(uniqueId)'],
      [
        'run',
        'deploy',
        'backend',
        `--image=${AR}/backend@${DIGEST}`,
        '--region=europe-west1',
        `--service-account=${sa('backend')}`,
        '--max-instances=1',
        '--min-instances=1',
        '--no-cpu-throttling',
        '--cpu=1',
        '--memory=1Gi',
        // Full Linux: SQLite's WAL and locks, Litestream and the lease are tested there, not
        // under gen1's gVisor (docs/deploy.md "SQLite on Cloud Run").
        '--execution-environment=gen2',
        // 2 s × 120 = 240 s, Cloud Run's most for a startup probe; the backend gives up waiting
        // for the lease at 225 s (LEASE_WAIT_MS) so it says why before it is stopped.
        '--startup-probe=httpGet.path=/readyz,periodSeconds=2,timeoutSeconds=1,failureThreshold=120',
        '--ingress=all',
        `--set-env-vars=^;^MODE=production;PUBLIC_URL=${URL};STORAGE_URL=gs://demo-images;` +
          'PUBLIC_MEDIA_BASE_URL=https://storage.googleapis.com/demo-images/;CALLBACK_AUTH=google;' +
          `CALLBACK_ALLOWED_EMAILS=${sa('processor')},${sa('workflow')};` +
          `CALLBACK_ALLOWED_SUBJECTS=${PROCESSOR_ID},${WORKFLOW_ID};DISPATCH=cloud-tasks;GOOGLE_CLOUD_PROJECT=demo;` +
          'GOOGLE_CLOUD_LOCATION=europe-west1;UPLOADS_QUEUE=image-uploads;INGEST_QUEUE=image-ingest;' +
          `WORKFLOW_NAME=process-image;TASKS_SERVICE_ACCOUNT=${sa('tasks')};DATA_DIR=/var/lib/slideshow;` +
          'DATABASE_PATH=/var/lib/slideshow/slideshow.db;LITESTREAM_BUCKET=demo-images-db',
        '--set-secrets=ADMIN_PASSWORD_HASH=slideshow-admin-password-hash:latest,ADMIN_TOKENS=slideshow-admin-tokens:latest',
        `--labels=commit-sha=${SHA}`,
      ],
      ['run', 'services', 'update-traffic', 'backend', '--region=europe-west1', '--to-latest'],
    ]);
    expect(config.images).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Cloud Build substitution syntax
      '${_REGION}-docker.pkg.dev/$PROJECT_ID/${_REPOSITORY}/backend:$COMMIT_SHA',
    ]);
  });

  it('stops before deploying when allUsers cannot be granted (an org policy), saying why', async () => {
    await gcloud.setRules([
      { match: 'run services add-iam-policy-binding backend *', exit: 1 },
      ...RULES,
    ]);
    const run = await build('backend.cloudbuild.yaml');
    expect(run.failedStep).toBe('public');
    expect(run.stderr).toContain(
      'error: allUsers cannot be granted roles/run.invoker on service backend',
    );
    const deploys = (await gcloud.calls()).filter((c) => c.argv[1] === 'deploy');
    expect(deploys).toEqual([]);
  });

  // After scripts/rollback pinned traffic, the new revision takes the database lease as it
  // starts while the pinned one keeps all traffic, read-only: the switch must not wait for
  // (or depend on) another step.
  it('moves the traffic in the deploy step itself, and says what to run when that fails', async () => {
    await gcloud.setRules([{ match: 'run services update-traffic backend *', exit: 1 }, ...RULES]);
    const run = await build('backend.cloudbuild.yaml');
    expect(run.failedStep).toBe('deploy');
    expect(run.stderr).toContain(
      'error: the new revision holds the database lease but may not serve all traffic; writes answer 503 until this succeeds: gcloud run services update-traffic backend --region=europe-west1 --project=demo --to-latest',
    );
    const calls = (await gcloud.calls()).map((c) => c.argv.slice(0, 3).join(' '));
    expect(calls.slice(-2)).toEqual(['run deploy backend', 'run services update-traffic']);
  });

  // Cloud Run resolves `:latest` when it starts the revision: a secret without a version
  // would fail the revision after a whole build, push and deploy.
  it('stops before building when the password hash secret has no version, saying how to add one', async () => {
    await gcloud.setRules([{ match: HASH_VERSIONS, stdout: '' }, ...RULES]);
    const run = await build('backend.cloudbuild.yaml');
    expect(run.failedStep).toBe('secrets');
    expect(run.stderr).toContain(
      "error: secret slideshow-admin-password-hash has no enabled version, so the backend could not start; add one: printf %s 'a long admin passphrase' | scripts/hash-password | gcloud secrets versions add slideshow-admin-password-hash --data-file=- --project=demo",
    );
    expect(run.log).toEqual([]);
    expect(await gcloud.mutations()).toEqual([]);
  });

  it('deploys without ADMIN_TOKENS when that optional secret has no version', async () => {
    await gcloud.setRules([{ match: TOKEN_VERSIONS, stdout: '' }, ...RULES]);
    const run = await build('backend.cloudbuild.yaml');
    expect(run.failedStep, run.stderr).toBeUndefined();
    expect(run.stderr).toContain(
      'note: secret slideshow-admin-tokens has no enabled version: deploying without ADMIN_TOKENS',
    );
    const deploy = (await gcloud.calls()).find((c) => c.argv[1] === 'deploy');
    expect(deploy?.argv).toContain(
      '--set-secrets=ADMIN_PASSWORD_HASH=slideshow-admin-password-hash:latest',
    );
  });

  it('stops before building when the secrets cannot be listed, naming the role the build account needs', async () => {
    await gcloud.setRules([{ match: HASH_VERSIONS, exit: 1 }, ...RULES]);
    const run = await build('backend.cloudbuild.yaml');
    expect(run.failedStep).toBe('secrets');
    expect(run.stderr).toContain(
      'error: cannot list the versions of secret slideshow-admin-password-hash (gcloud says why above; the build account needs roles/secretmanager.viewer on it: scripts/setup --build-service-account)',
    );
    expect(run.log).toEqual([]);
  });

  it('stops before deploying when a caller account has no readable unique ID', async () => {
    await gcloud.setRules([
      { match: 'iam service-accounts describe slideshow-workflow@*', stdout: '' },
      ...RULES,
    ]);
    const run = await build('backend.cloudbuild.yaml');
    expect(run.failedStep).toBe('deploy');
    expect(run.stderr).toContain('cannot read the unique ID of slideshow-workflow');
    expect((await gcloud.calls()).filter((c) => c.argv[1] === 'deploy')).toEqual([]);
  });

  it('deploys the processor job by digest with one task, the limits of deploy/job-limits.env and 2 CPU / 2 GiB', async () => {
    const run = await build('processor.cloudbuild.yaml');
    expect(run.failedStep, run.stderr).toBeUndefined();
    expect(run.log).toEqual([
      `docker build --file=apps/processor/Dockerfile --tag=${AR}/processor:${SHA} .`,
      `docker push ${AR}/processor:${SHA}`,
    ]);
    expect(await gcloud.mutations()).toEqual([
      `gcloud run jobs deploy processor --image=${AR}/processor@${DIGEST} --region=europe-west1 ` +
        '--service-account=slideshow-processor@demo.iam.gserviceaccount.com --tasks=1 --max-retries=5 ' +
        '--task-timeout=1200s --cpu=2 --memory=2Gi ' +
        `--set-env-vars=BACKEND_API_URL=${URL},GCS_BUCKET_NAME=demo-images,MAX_RETRIES=5,CALLBACK_AUTH=google,CALLBACK_AUDIENCE=${URL} ` +
        `--labels=commit-sha=${SHA}`,
    ]);
  });

  it('refuses to deploy when the pushed image has no digest', async () => {
    await gcloud.setRules([{ match: 'artifacts docker images describe *', stdout: '' }, ...RULES]);
    const run = await build('processor.cloudbuild.yaml');
    expect(run.failedStep).toBe('digest');
    expect(await gcloud.mutations()).toEqual([]);
  });

  it('stops at the first step when the commit or a required substitution is missing', async () => {
    for (const missing of ['COMMIT_SHA', '_BUCKET', '_BACKEND_URL'] as const) {
      const run = await build('backend.cloudbuild.yaml', { ...PROVIDED, [missing]: '' });
      expect(run.failedStep, missing).toBe('check');
      expect(run.log, missing).toEqual([]);
    }
  });

  it('deploys every workflow file that exists with its environment and service account', async () => {
    await mkdir(join(workspace, 'workflows'));
    await writeFile(join(workspace, 'workflows/process-image.workflows.yaml'), '# one\n');
    await writeFile(join(workspace, 'workflows/process-batch.workflows.yaml'), '# batch\n');
    const run = await build('workflows.cloudbuild.yaml');
    expect(run.failedStep, run.stderr).toBeUndefined();
    const flags =
      '--location=europe-west1 --service-account=slideshow-workflow@demo.iam.gserviceaccount.com ' +
      `--set-env-vars=PROCESSOR_JOB=processor,BACKEND_URL=${URL},TASK_TIMEOUT_SECONDS=1200,MAX_RETRIES=5,JOB_PARALLELISM=4 --labels=commit-sha=${SHA}`;
    expect(await gcloud.mutations()).toEqual([
      `gcloud workflows deploy process-image --source=workflows/process-image.workflows.yaml ${flags}`,
      `gcloud workflows deploy process-batch --source=workflows/process-batch.workflows.yaml ${flags}`,
    ]);
  });

  it('fails the workflow build, deploying nothing, when deploy/job-limits.env has no JOB_PARALLELISM', async () => {
    await mkdir(join(workspace, 'workflows'));
    await writeFile(join(workspace, 'workflows/process-image.workflows.yaml'), '# one\n');
    await writeFile(
      join(workspace, 'deploy/job-limits.env'),
      '# test\nMAX_RETRIES=5\nTASK_TIMEOUT_SECONDS=1200\n',
    );
    const run = await build('workflows.cloudbuild.yaml');
    expect(run.failedStep).toBe('deploy');
    expect(run.stderr).toContain('JOB_PARALLELISM: unbound variable');
    expect(await gcloud.mutations()).toEqual([]);
  });

  it('fails the workflow build when the main workflow file is missing', async () => {
    const run = await build('workflows.cloudbuild.yaml');
    expect(run.failedStep).toBe('deploy');
    expect(run.stderr).toContain('missing workflows/process-image.workflows.yaml');
  });

  it('uses only substitutions that Cloud Build knows or the file declares', async () => {
    const files = (await readdir(join(import.meta.dirname, '../../cloudbuild'))).filter((f) =>
      f.endsWith('.yaml'),
    );
    expect(files.sort()).toEqual([
      'backend.cloudbuild.yaml',
      'processor.cloudbuild.yaml',
      'workflows.cloudbuild.yaml',
    ]);
    for (const file of files) {
      const config = await readBuildConfig(file);
      const known = { PROJECT_ID: 'p', COMMIT_SHA: 'c', ...config.substitutions };
      for (const step of config.steps) {
        for (const arg of step.args ?? []) expect(() => substitute(arg, known), file).not.toThrow();
      }
    }
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Cloud Build substitution syntax
    const unknown = '$$HOME ${_NOPE}';
    expect(() => substitute(unknown, {})).toThrow(`unknown substitution $\{_NOPE}`);
  });
});
