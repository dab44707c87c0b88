import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createGcloudDouble,
  type GcloudDouble,
  printedCommands,
  type Rule,
  runScript,
} from './helpers/gcloud-double.ts';

const SA = (name: string) => `serviceAccount:${name}@demo.iam.gserviceaccount.com`;
const URL = 'https://backend-abc-ew.a.run.app';
const APIS =
  'run.googleapis.com cloudtasks.googleapis.com workflows.googleapis.com workflowexecutions.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com secretmanager.googleapis.com storage.googleapis.com iam.googleapis.com logging.googleapis.com';
const UPLOADS_FLAGS =
  '--max-dispatches-per-second=0.6 --max-concurrent-dispatches=10 --max-attempts=100 --min-backoff=1s --max-backoff=300s --max-doublings=6 --max-retry-duration=21600s';
const INGEST_FLAGS =
  '--max-dispatches-per-second=0.2 --max-concurrent-dispatches=2 --max-attempts=100 --min-backoff=10s --max-backoff=600s --max-doublings=6 --max-retry-duration=21600s';
const LOC = '--location=europe-west1 --project=demo';
const REG = '--region=europe-west1 --project=demo';

/** The backend URL and project number are known; nothing else exists. */
const EMPTY_PROJECT: Rule[] = [
  { match: 'projects describe demo *', stdout: '123456' },
  { match: `run services describe backend * --format=value(status.url)`, stdout: URL },
  { match: '*describe*', exit: 1 },
];

/** Every resource, role binding and secret version is already there. */
function fullProject(): Rule[] {
  const policy = (pairs: [string, string][]) => pairs.map(([r, m]) => `${r},${m}`).join('\n');
  return [
    { match: 'services list *', stdout: APIS.split(' ').join('\n') },
    { match: 'projects describe demo *', stdout: '123456' },
    { match: `run services describe backend * --format=value(status.url)`, stdout: URL },
    {
      match: 'projects get-iam-policy *',
      stdout: policy([
        ['roles/cloudtasks.enqueuer', SA('slideshow-backend')],
        ['roles/workflows.invoker', SA('slideshow-tasks')],
        ['roles/run.developer', SA('slideshow-workflow')],
        ['roles/logging.logWriter', SA('slideshow-workflow')],
      ]),
    },
    {
      match: 'iam service-accounts get-iam-policy *',
      stdout: policy([
        ['roles/iam.serviceAccountUser', SA('slideshow-backend')],
        [
          'roles/iam.serviceAccountTokenCreator',
          'serviceAccount:service-123456@gcp-sa-cloudtasks.iam.gserviceaccount.com',
        ],
      ]),
    },
    {
      match: 'run services get-iam-policy *',
      stdout: policy([
        ['roles/run.invoker', SA('slideshow-workflow')],
        ['roles/run.invoker', SA('slideshow-processor')],
      ]),
    },
    {
      match: 'storage buckets get-iam-policy *',
      stdout: policy([
        ['roles/storage.objectUser', SA('slideshow-processor')],
        ['roles/storage.objectUser', SA('slideshow-backend')],
      ]),
    },
    {
      match: 'secrets get-iam-policy *',
      stdout: policy([['roles/secretmanager.secretAccessor', SA('slideshow-backend')]]),
    },
    { match: 'secrets versions list *', stdout: 'projects/demo/secrets/x/versions/1' },
    { match: 'tasks queues describe image-uploads *', stdout: '0.6\t10\t100\t1s\t300s\t6\t21600s' },
    { match: 'tasks queues describe image-ingest *', stdout: '0.2\t2\t100\t10s\t600s\t6\t21600s' },
  ];
}

/** Everything setup runs on an empty project, in order. */
function fromZero(repo: string): string[] {
  const bind = (what: string, member: string, role: string) =>
    `gcloud ${what} --member=${member} --role=${role}`;
  return [
    `gcloud services enable ${APIS} --project=demo`,
    'gcloud storage buckets create gs://demo-images --project=demo --location=europe-west1 --uniform-bucket-level-access',
    'gcloud storage buckets create gs://demo-images-db --project=demo --location=europe-west1 --uniform-bucket-level-access',
    `gcloud artifacts repositories create slideshow --repository-format=docker ${LOC}`,
    ...['backend', 'tasks', 'workflow', 'processor'].map(
      (n) =>
        `gcloud iam service-accounts create slideshow-${n} --display-name=slideshow-${n} --project=demo`,
    ),
    'gcloud secrets create slideshow-admin-password-hash --replication-policy=automatic --project=demo',
    'gcloud secrets create slideshow-admin-tokens --replication-policy=automatic --project=demo',
    `gcloud tasks queues create image-uploads ${LOC} ${UPLOADS_FLAGS}`,
    `gcloud tasks queues create image-ingest ${LOC} ${INGEST_FLAGS}`,
    `gcloud run deploy backend --image=us-docker.pkg.dev/cloudrun/container/hello ${REG} --service-account=slideshow-backend@demo.iam.gserviceaccount.com --no-allow-unauthenticated --max-instances=1`,
    bind(
      'projects add-iam-policy-binding demo --condition=None',
      SA('slideshow-backend'),
      'roles/cloudtasks.enqueuer',
    ),
    bind(
      'iam service-accounts add-iam-policy-binding slideshow-tasks@demo.iam.gserviceaccount.com --project=demo',
      SA('slideshow-backend'),
      'roles/iam.serviceAccountUser',
    ),
    bind(
      'projects add-iam-policy-binding demo --condition=None',
      SA('slideshow-tasks'),
      'roles/workflows.invoker',
    ),
    bind(
      'iam service-accounts add-iam-policy-binding slideshow-tasks@demo.iam.gserviceaccount.com --project=demo',
      'serviceAccount:service-123456@gcp-sa-cloudtasks.iam.gserviceaccount.com',
      'roles/iam.serviceAccountTokenCreator',
    ),
    bind(
      'projects add-iam-policy-binding demo --condition=None',
      SA('slideshow-workflow'),
      'roles/run.developer',
    ),
    bind(
      `run services add-iam-policy-binding backend ${REG}`,
      SA('slideshow-workflow'),
      'roles/run.invoker',
    ),
    bind(
      'projects add-iam-policy-binding demo --condition=None',
      SA('slideshow-workflow'),
      'roles/logging.logWriter',
    ),
    bind(
      'storage buckets add-iam-policy-binding gs://demo-images --project=demo',
      SA('slideshow-processor'),
      'roles/storage.objectUser',
    ),
    bind(
      `run services add-iam-policy-binding backend ${REG}`,
      SA('slideshow-processor'),
      'roles/run.invoker',
    ),
    bind(
      'storage buckets add-iam-policy-binding gs://demo-images --project=demo',
      SA('slideshow-backend'),
      'roles/storage.objectUser',
    ),
    bind(
      'storage buckets add-iam-policy-binding gs://demo-images-db --project=demo',
      SA('slideshow-backend'),
      'roles/storage.objectUser',
    ),
    bind(
      'secrets add-iam-policy-binding slideshow-admin-password-hash --project=demo',
      SA('slideshow-backend'),
      'roles/secretmanager.secretAccessor',
    ),
    bind(
      'secrets add-iam-policy-binding slideshow-admin-tokens --project=demo',
      SA('slideshow-backend'),
      'roles/secretmanager.secretAccessor',
    ),
    `gcloud run jobs create processor --image=us-docker.pkg.dev/cloudrun/container/job ${REG} --service-account=slideshow-processor@demo.iam.gserviceaccount.com --tasks=1 --max-retries=3 --task-timeout=600s --cpu=2 --memory=2Gi --set-env-vars=BACKEND_API_URL=${URL},GCS_BUCKET_NAME=demo-images,MAX_RETRIES=3,CALLBACK_AUTH=google,CALLBACK_AUDIENCE=${URL}`,
    `gcloud workflows deploy process-image --source=${repo}/workflows/process-image.workflows.yaml ${LOC} --service-account=slideshow-workflow@demo.iam.gserviceaccount.com --set-env-vars=PROCESSOR_JOB=processor,BACKEND_URL=${URL},TASK_TIMEOUT_SECONDS=600,MAX_RETRIES=3`,
  ];
}

describe('scripts/setup against a recording gcloud', () => {
  let gcloud: GcloudDouble;
  let repo: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    gcloud = await createGcloudDouble();
    repo = await mkdtemp(join(tmpdir(), 'ops-repo-'));
    await mkdir(join(repo, 'workflows'));
    await writeFile(
      join(repo, 'workflows/process-image.workflows.yaml'),
      '# test workflow\nmain:\n  steps: []\n',
    );
    env = { ...gcloud.env, SLIDESHOW_REPO: repo };
  });
  afterAll(async () => {
    await gcloud.cleanup();
    await rm(repo, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await gcloud.reset();
  });

  it('creates every resource and grants exactly the documented roles, in order, on an empty project', async () => {
    await gcloud.setRules(EMPTY_PROJECT);
    const result = await runScript('setup', ['--project', 'demo'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual(fromZero(repo));
    expect(printedCommands(result.stdout)).toEqual(fromZero(repo));
  });

  it('prints the same commands on a dry run and runs none of them', async () => {
    await gcloud.setRules(EMPTY_PROJECT);
    const result = await runScript('setup', ['--project', 'demo', '--dry-run'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([]);
    expect(printedCommands(result.stdout)).toEqual(fromZero(repo));
    expect(result.stderr).toContain('dry run done, nothing was changed');
  });

  it('changes nothing when everything already exists with the computed settings', async () => {
    await gcloud.setRules(fullProject());
    const result = await runScript('setup', ['--project', 'demo'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([]);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('ok: all APIs enabled');
    expect(result.stderr).toContain('ok: queue image-ingest has the computed settings');
  });

  it('updates only the queue whose settings drifted', async () => {
    await gcloud.setRules([
      { match: 'tasks queues describe image-ingest *', stdout: '5\t2\t100\t10s\t600s\t6\t21600s' },
      ...fullProject(),
    ]);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'queues'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([
      `gcloud tasks queues update image-ingest ${LOC} ${INGEST_FLAGS}`,
    ]);
  });

  it('enables only the APIs that are not enabled yet', async () => {
    await gcloud.setRules([
      { match: 'services list *', stdout: APIS.split(' ').slice(1).join('\n') },
      ...fullProject(),
    ]);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'apis'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([
      'gcloud services enable run.googleapis.com --project=demo',
    ]);
  });

  it('derives the queue rates from the job-run quota and reports images per hour', async () => {
    await gcloud.setRules(EMPTY_PROJECT);
    const result = await runScript(
      'setup',
      [
        '--project',
        'demo',
        '--steps',
        'queues',
        '--job-runs-per-minute',
        '180',
        '--batch-size',
        '50',
      ],
      env,
    );
    expect(result.status, result.stderr).toBe(0);
    const mutations = await gcloud.mutations();
    expect(mutations).toHaveLength(2);
    expect(mutations[0]).toContain(
      'create image-uploads --location=europe-west1 --project=demo --max-dispatches-per-second=1.8 ',
    );
    expect(mutations[1]).toContain(
      'create image-ingest --location=europe-west1 --project=demo --max-dispatches-per-second=0.6 ',
    );
    expect(result.stderr).toContain(
      'queues: quota 180 job runs/min x headroom 0.8 = 144/min; uploads 1.8/s (6480 images/h), ingest 0.6/s x 50 images (108000 images/h)',
    );
  });

  it('stores secret values through stdin and never prints them', async () => {
    await gcloud.setRules([
      { match: 'secrets versions list *', stdout: '' },
      ...fullProject().slice(0, -1),
    ]);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'secrets'], {
      ...env,
      ADMIN_PASSWORD_HASH: 'scrypt$abc$def',
      ADMIN_TOKENS: 'tok-1,tok-2',
    });
    expect(result.status, result.stderr).toBe(0);
    const adds = (await gcloud.calls()).filter((c) => c.argv.includes('add'));
    expect(adds.map((c) => [c.argv.join(' '), c.stdin])).toEqual([
      [
        'secrets versions add slideshow-admin-password-hash --data-file=- --project=demo',
        'scrypt$abc$def',
      ],
      ['secrets versions add slideshow-admin-tokens --data-file=- --project=demo', 'tok-1,tok-2'],
    ]);
    expect(result.stdout + result.stderr).not.toContain('tok-1');
  });

  it('grants the Cloud Build deployer its roles when a build service account is named', async () => {
    await gcloud.setRules(fullProject());
    const result = await runScript(
      'setup',
      [
        '--project',
        'demo',
        '--steps',
        'iam',
        '--build-service-account',
        'deployer@demo.iam.gserviceaccount.com',
      ],
      env,
    );
    expect(result.status, result.stderr).toBe(0);
    const deployer = 'serviceAccount:deployer@demo.iam.gserviceaccount.com';
    expect(await gcloud.mutations()).toEqual([
      `gcloud projects add-iam-policy-binding demo --condition=None --member=${deployer} --role=roles/run.admin`,
      `gcloud projects add-iam-policy-binding demo --condition=None --member=${deployer} --role=roles/workflows.editor`,
      `gcloud projects add-iam-policy-binding demo --condition=None --member=${deployer} --role=roles/logging.logWriter`,
      `gcloud artifacts repositories add-iam-policy-binding slideshow ${LOC} --member=${deployer} --role=roles/artifactregistry.writer`,
      ...['backend', 'workflow', 'processor'].map(
        (n) =>
          `gcloud iam service-accounts add-iam-policy-binding slideshow-${n}@demo.iam.gserviceaccount.com --project=demo --member=${deployer} --role=roles/iam.serviceAccountUser`,
      ),
    ]);
  });

  it('refuses to run without a project and names the flag', async () => {
    const result = await runScript('setup', [], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('set --project or GOOGLE_CLOUD_PROJECT');
    expect(await gcloud.calls()).toEqual([]);
  });
});
