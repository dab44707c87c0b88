import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createGcloudDouble,
  type GcloudDouble,
  notFound,
  printedCommands,
  type Rule,
  runCommand,
  runScript,
  scriptsDir,
} from './helpers/gcloud-double.ts';

const SA = (name: string) => `serviceAccount:${name}@demo.iam.gserviceaccount.com`;
const URL = 'https://backend-abc-ew.a.run.app';
const APIS =
  'run.googleapis.com cloudtasks.googleapis.com workflows.googleapis.com workflowexecutions.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com secretmanager.googleapis.com storage.googleapis.com iam.googleapis.com logging.googleapis.com';
const UPLOADS_FLAGS =
  '--max-dispatches-per-second=0.6 --max-concurrent-dispatches=10 --max-attempts=30 --min-backoff=1s --max-backoff=300s --max-doublings=6 --max-retry-duration=21600s';
const INGEST_FLAGS =
  '--max-dispatches-per-second=0.2 --max-concurrent-dispatches=2 --max-attempts=30 --min-backoff=10s --max-backoff=600s --max-doublings=6 --max-retry-duration=21600s';
const LOC = '--location=europe-west1 --project=demo';
const REG = '--region=europe-west1 --project=demo';
const DEPLOYER = 'serviceAccount:deployer@demo.iam.gserviceaccount.com';
/** What the backend's custom queue role holds: see, pause and resume a queue, nothing more. */
const QUEUE_PERMISSIONS =
  'cloudtasks.queues.get,cloudtasks.queues.pause,cloudtasks.queues.resume,cloudtasks.tasks.delete,cloudtasks.tasks.get';
/** The job limits the test repository's deploy/job-limits.env sets (not the real values, on purpose). */
const LIMITS = { maxRetries: 2, taskTimeoutSeconds: 900, jobParallelism: 7 };

/** Like the real gcloud: `projects get-iam-policy` has no --condition flag (exit 2). */
const REJECTS_CONDITION_ON_GET: Rule = {
  match: 'projects get-iam-policy *--condition*',
  exit: 2,
};

/** The backend URL is known; nothing else exists. */
const EMPTY_PROJECT: Rule[] = [
  REJECTS_CONDITION_ON_GET,
  { match: `run services describe backend * --format=value(status.url)`, stdout: URL },
  notFound('*describe*'),
];

const projectBind = (member: string, role: string) =>
  `gcloud projects add-iam-policy-binding demo --member=${member} --role=${role} --condition=None`;
const bind = (what: string, member: string, role: string) =>
  `gcloud ${what} --member=${member} --role=${role}`;

/** Everything setup runs on an empty project, in order. */
function fromZero(repo: string): string[] {
  return [
    `gcloud services enable ${APIS} --project=demo`,
    'gcloud storage buckets create gs://demo-images --project=demo --location=europe-west1 --uniform-bucket-level-access --soft-delete-duration=7d',
    'gcloud storage buckets create gs://demo-images-db --project=demo --location=europe-west1 --uniform-bucket-level-access --soft-delete-duration=7d',
    'gcloud storage managed-folders create gs://demo-images/variants/ --project=demo',
    `gcloud artifacts repositories create slideshow --repository-format=docker ${LOC}`,
    ...['backend', 'tasks', 'workflow', 'processor'].map(
      (n) =>
        `gcloud iam service-accounts create slideshow-${n} --display-name=slideshow-${n} --project=demo`,
    ),
    'gcloud secrets create slideshow-admin-password-hash --replication-policy=automatic --project=demo',
    'gcloud secrets create slideshow-admin-tokens --replication-policy=automatic --project=demo',
    `gcloud tasks queues create image-uploads ${LOC} ${UPLOADS_FLAGS}`,
    `gcloud tasks queues create image-ingest ${LOC} ${INGEST_FLAGS}`,
    `gcloud run deploy backend --image=us-docker.pkg.dev/cloudrun/container/hello ${REG} --service-account=slideshow-backend@demo.iam.gserviceaccount.com --no-allow-unauthenticated --max-instances=1 --execution-environment=gen2`,
    `gcloud run jobs create processor --image=us-docker.pkg.dev/cloudrun/container/job ${REG} --service-account=slideshow-processor@demo.iam.gserviceaccount.com --tasks=1 --max-retries=${LIMITS.maxRetries} --task-timeout=${LIMITS.taskTimeoutSeconds}s --cpu=2 --memory=2Gi --set-env-vars=BACKEND_API_URL=${URL},GCS_BUCKET_NAME=demo-images,MAX_RETRIES=${LIMITS.maxRetries},CALLBACK_AUTH=google,CALLBACK_AUDIENCE=${URL}`,
    projectBind(SA('slideshow-backend'), 'roles/cloudtasks.enqueuer'),
    `gcloud iam roles create slideshowQueueOperator --project=demo --title=slideshowQueueOperator --permissions=${QUEUE_PERMISSIONS} --stage=GA`,
    ...['image-uploads', 'image-ingest'].map((queue) =>
      bind(
        `tasks queues add-iam-policy-binding ${queue} ${LOC}`,
        SA('slideshow-backend'),
        'projects/demo/roles/slideshowQueueOperator',
      ),
    ),
    bind(
      'iam service-accounts add-iam-policy-binding slideshow-tasks@demo.iam.gserviceaccount.com --project=demo',
      SA('slideshow-backend'),
      'roles/iam.serviceAccountUser',
    ),
    projectBind(SA('slideshow-backend'), 'roles/workflows.viewer'),
    projectBind(SA('slideshow-tasks'), 'roles/workflows.invoker'),
    bind(
      `run jobs add-iam-policy-binding processor ${REG}`,
      SA('slideshow-workflow'),
      'roles/run.jobsExecutorWithOverrides',
    ),
    'gcloud iam roles create slideshowRunOperationsViewer --project=demo --title=slideshowRunOperationsViewer --permissions=run.operations.get --stage=GA',
    projectBind(SA('slideshow-workflow'), 'projects/demo/roles/slideshowRunOperationsViewer'),
    projectBind(SA('slideshow-workflow'), 'roles/logging.logWriter'),
    bind(
      'storage buckets add-iam-policy-binding gs://demo-images --project=demo',
      SA('slideshow-processor'),
      'roles/storage.objectViewer',
    ),
    bind(
      'storage managed-folders add-iam-policy-binding gs://demo-images/variants/ --project=demo',
      SA('slideshow-processor'),
      'roles/storage.objectUser',
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
    'gcloud iam roles create slideshowPublicMediaReader --project=demo --title=slideshowPublicMediaReader --permissions=storage.objects.get --stage=GA',
    bind(
      'storage managed-folders add-iam-policy-binding gs://demo-images/variants/ --project=demo',
      'allUsers',
      'projects/demo/roles/slideshowPublicMediaReader',
    ),
    `gcloud workflows deploy process-image --source=${repo}/workflows/process-image.workflows.yaml ${LOC} --service-account=slideshow-workflow@demo.iam.gserviceaccount.com --set-env-vars=PROCESSOR_JOB=processor,BACKEND_URL=${URL},TASK_TIMEOUT_SECONDS=${LIMITS.taskTimeoutSeconds},MAX_RETRIES=${LIMITS.maxRetries},JOB_PARALLELISM=${LIMITS.jobParallelism}`,
  ];
}

/** What the deployer (`--build-service-account`) gets on top, in order. */
const DEPLOYER_GRANTS = [
  'gcloud storage buckets create gs://demo_cloudbuild --project=demo --location=europe-west1 --uniform-bucket-level-access',
  bind(
    'storage buckets add-iam-policy-binding gs://demo_cloudbuild --project=demo',
    DEPLOYER,
    'roles/storage.objectViewer',
  ),
  projectBind(DEPLOYER, 'roles/run.admin'),
  projectBind(DEPLOYER, 'roles/workflows.editor'),
  projectBind(DEPLOYER, 'roles/logging.logWriter'),
  bind(
    `artifacts repositories add-iam-policy-binding slideshow ${LOC}`,
    DEPLOYER,
    'roles/artifactregistry.writer',
  ),
  ...['backend', 'workflow', 'processor'].map((n) =>
    bind(
      `iam service-accounts add-iam-policy-binding slideshow-${n}@demo.iam.gserviceaccount.com --project=demo`,
      DEPLOYER,
      'roles/iam.serviceAccountUser',
    ),
  ),
  ...['password-hash', 'tokens'].map((n) =>
    bind(
      `secrets add-iam-policy-binding slideshow-admin-${n} --project=demo`,
      DEPLOYER,
      'roles/secretmanager.viewer',
    ),
  ),
];

/**
 * The project as a first run leaves it: every resource exists, and each
 * resource's IAM policy holds exactly the bindings that run added (read back
 * from its recorded `add-iam-policy-binding` commands, so the two cannot drift).
 */
function convergedProject(firstRun: string[]): Rule[] {
  const policies = new Map<string, string[]>();
  for (const command of firstRun) {
    const m = /^gcloud (.+) add-iam-policy-binding (\S+) .*--member=(\S+) --role=(\S+)/.exec(
      command,
    );
    if (!m) continue;
    const key = `${m[1]} get-iam-policy ${m[2]} *`;
    policies.set(key, [...(policies.get(key) ?? []), `${m[4]},${m[3]},`]);
  }
  return [
    REJECTS_CONDITION_ON_GET,
    ...[...policies].map(([match, lines]) => ({ match, stdout: lines.join('\n') })),
    { match: 'services list *', stdout: APIS.split(' ').join('\n') },
    { match: `run services describe backend * --format=value(status.url)`, stdout: URL },
    { match: 'iam roles describe slideshowRunOperationsViewer *', stdout: 'run.operations.get' },
    { match: 'iam roles describe slideshowPublicMediaReader *', stdout: 'storage.objects.get' },
    // gcloud's value() joins a list with ';', in the API's order (not necessarily sorted).
    {
      match: 'iam roles describe slideshowQueueOperator *',
      stdout:
        'cloudtasks.queues.resume;cloudtasks.tasks.get;cloudtasks.queues.get;cloudtasks.tasks.delete;cloudtasks.queues.pause',
    },
    { match: 'secrets versions list *', stdout: 'projects/demo/secrets/x/versions/1' },
    { match: 'tasks queues describe image-uploads *', stdout: '0.6\t10\t30\t1s\t300s\t6\t21600s' },
    { match: 'tasks queues describe image-ingest *', stdout: '0.2\t2\t30\t10s\t600s\t6\t21600s' },
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
    await mkdir(join(repo, 'deploy'));
    await writeFile(
      join(repo, 'workflows/process-image.workflows.yaml'),
      '# test workflow\nmain:\n  steps: []\n',
    );
    await writeFile(
      join(repo, 'deploy/job-limits.env'),
      `# test limits\nMAX_RETRIES=${LIMITS.maxRetries}\nTASK_TIMEOUT_SECONDS=${LIMITS.taskTimeoutSeconds}\nJOB_PARALLELISM=${LIMITS.jobParallelism}\n`,
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
    expect(result.stderr).toContain('setup: done');
  });

  it('creates the images and database buckets with a 7-day soft delete, the only backup of an original', async () => {
    await gcloud.setRules(EMPTY_PROJECT);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'storage'], env);
    expect(result.status, result.stderr).toBe(0);
    const creates = (await gcloud.mutations()).filter((c) => c.includes(' buckets create '));
    expect(creates.map((c) => c.split(' ')[4])).toEqual([
      'gs://demo-images',
      'gs://demo-images-db',
    ]);
    for (const create of creates) expect(create.split(' ')).toContain('--soft-delete-duration=7d');
  });

  it('prints the same commands on a dry run and runs none of them', async () => {
    await gcloud.setRules(EMPTY_PROJECT);
    const result = await runScript('setup', ['--project', 'demo', '--dry-run'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([]);
    expect(printedCommands(result.stdout)).toEqual(fromZero(repo));
    expect(result.stderr).toContain('dry run done, nothing was changed');
  });

  it('changes nothing on a second run and says so: every binding the first run added is read back', async () => {
    await gcloud.setRules(EMPTY_PROJECT);
    const first = await runScript(
      'setup',
      ['--project', 'demo', '--build-service-account', 'deployer@demo.iam.gserviceaccount.com'],
      env,
    );
    expect(first.status, first.stderr).toBe(0);
    const firstRun = await gcloud.mutations();
    expect(firstRun.filter((c) => c.includes('add-iam-policy-binding'))).toHaveLength(26);

    await gcloud.reset();
    await gcloud.setRules(convergedProject(firstRun));
    const second = await runScript(
      'setup',
      ['--project', 'demo', '--build-service-account', 'deployer@demo.iam.gserviceaccount.com'],
      env,
    );
    expect(second.status, second.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([]);
    expect(second.stdout).toBe('');
    expect(second.stderr).toContain('setup: nothing to change');
    expect(second.stderr).toContain('ok: all APIs enabled');
    expect(second.stderr).toContain(
      'ok: serviceAccount:slideshow-workflow@demo.iam.gserviceaccount.com already has roles/logging.logWriter on project demo',
    );
    // Project policies are read the way gcloud accepts: no --condition on the get.
    const projectReads = (await gcloud.calls()).filter(
      (c) => c.argv[0] === 'projects' && c.argv[1] === 'get-iam-policy',
    );
    expect(projectReads.length).toBeGreaterThan(0);
    for (const read of projectReads) expect(read.argv).not.toContain('--condition=None');
  });

  it('adds a project role again when the only binding for it has a condition', async () => {
    await gcloud.setRules([
      REJECTS_CONDITION_ON_GET,
      {
        match: 'projects get-iam-policy *',
        stdout: `roles/workflows.viewer,${SA('slideshow-backend')},expires-2026`,
      },
      ...EMPTY_PROJECT,
    ]);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'iam'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toContain(
      projectBind(SA('slideshow-backend'), 'roles/workflows.viewer'),
    );
  });

  it("takes back the processor's objectUser on the whole bucket that an earlier setup granted: it writes variants only", async () => {
    await gcloud.setRules([
      {
        match: 'storage buckets get-iam-policy gs://demo-images *',
        stdout: [
          `roles/storage.objectUser,${SA('slideshow-processor')},`,
          `roles/storage.objectViewer,${SA('slideshow-processor')},`,
          `roles/storage.objectUser,${SA('slideshow-backend')},`,
        ].join('\n'),
      },
      ...convergedProject(fromZero(repo)),
    ]);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'iam'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([
      `gcloud storage buckets remove-iam-policy-binding gs://demo-images --project=demo --member=${SA('slideshow-processor')} --role=roles/storage.objectUser`,
    ]);
  });

  it('takes back the objectViewer an earlier setup gave anyone on variants/ (it lists the folder): a custom role reads by name only', async () => {
    await gcloud.setRules([
      {
        match: 'storage managed-folders get-iam-policy gs://demo-images/variants/ *',
        stdout: [
          'roles/storage.objectViewer,allUsers,',
          'projects/demo/roles/slideshowPublicMediaReader,allUsers,',
          `roles/storage.objectUser,${SA('slideshow-processor')},`,
        ].join('\n'),
      },
      ...convergedProject(fromZero(repo)),
    ]);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'iam'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([
      'gcloud storage managed-folders remove-iam-policy-binding gs://demo-images/variants/ --project=demo --member=allUsers --role=roles/storage.objectViewer',
    ]);
  });

  it.each([
    [
      'narrows the queue role back to its five permissions when it holds more',
      'cloudtasks.queues.get;cloudtasks.queues.pause;cloudtasks.queues.purge;cloudtasks.queues.resume;cloudtasks.tasks.delete;cloudtasks.tasks.get',
    ],
    [
      'adds cloudtasks.tasks.delete to a queue role an earlier setup made without it',
      'cloudtasks.queues.get;cloudtasks.queues.pause;cloudtasks.queues.resume;cloudtasks.tasks.get',
    ],
    [
      'adds cloudtasks.tasks.get to a queue role an earlier setup made with three permissions',
      'cloudtasks.queues.get;cloudtasks.queues.pause;cloudtasks.queues.resume',
    ],
  ])('%s', async (_name, held) => {
    await gcloud.setRules([
      { match: 'iam roles describe slideshowQueueOperator *', stdout: held },
      ...convergedProject(fromZero(repo)),
    ]);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'iam'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([
      `gcloud iam roles update slideshowQueueOperator --project=demo --permissions=${QUEUE_PERMISSIONS}`,
    ]);
  });

  it('updates only the queue whose settings drifted', async () => {
    await gcloud.setRules([
      { match: 'tasks queues describe image-ingest *', stdout: '5\t2\t30\t10s\t600s\t6\t21600s' },
      ...convergedProject(fromZero(repo)),
    ]);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'queues'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([
      `gcloud tasks queues update image-ingest ${LOC} ${INGEST_FLAGS}`,
    ]);
    expect(result.stderr).toContain('setup: done');
  });

  it('enables only the APIs that are not enabled yet', async () => {
    await gcloud.setRules([
      { match: 'services list *', stdout: APIS.split(' ').slice(1).join('\n') },
      ...convergedProject(fromZero(repo)),
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
    // Two tokens as long as the backend requires (32 characters or more).
    const tokens = `tok-1${'a'.repeat(40)},tok-2${'b'.repeat(40)}`;
    await gcloud.setRules([
      { match: 'secrets versions list *', stdout: '' },
      ...convergedProject(fromZero(repo)),
    ]);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'secrets'], {
      ...env,
      ADMIN_PASSWORD_HASH: 'scrypt$abc$def',
      ADMIN_TOKENS: tokens,
    });
    expect(result.status, result.stderr).toBe(0);
    const adds = (await gcloud.calls()).filter((c) => c.argv.includes('add'));
    expect(adds.map((c) => [c.argv.join(' '), c.stdin])).toEqual([
      [
        'secrets versions add slideshow-admin-password-hash --data-file=- --project=demo',
        'scrypt$abc$def',
      ],
      ['secrets versions add slideshow-admin-tokens --data-file=- --project=demo', tokens],
    ]);
    expect(result.stdout + result.stderr).not.toContain('tok-1');
    expect(result.stderr).toContain('setup: done');
  });

  it("stops with gcloud's reason and the project and region when a describe answers 403, instead of planning to create what it could not see", async () => {
    const denied =
      'ERROR: (gcloud.tasks.queues.describe) PERMISSION_DENIED: The principal (user:me@example.com) does not have cloudtasks.queues.get on projects/demo/locations/europe-west1/queues/image-uploads.';
    await gcloud.setRules([
      { match: 'tasks queues describe image-uploads *', exit: 1, stderr: denied },
      ...EMPTY_PROJECT,
    ]);
    const result = await runScript(
      'setup',
      ['--project', 'demo', '--steps', 'queues', '--dry-run'],
      env,
    );
    expect(result.status).toBe(1);
    expect(printedCommands(result.stdout)).toEqual([]);
    expect(result.stderr).toContain(
      `error: gcloud tasks queues describe image-uploads ${LOC} failed: ${denied}`,
    );
  });

  it("keeps gcloud's next step when it is not logged in: the ERROR line and the instructions after it, without blank lines", async () => {
    // What gcloud 528 prints on stderr with no active account (a WARNING first when it has one).
    const notLoggedIn = [
      'WARNING: a line before the error is not the reason',
      'ERROR: (gcloud.services.list) You do not currently have an active account selected.',
      'Please run:',
      '',
      '  $ gcloud auth login',
      '',
      'to obtain new credentials.',
    ].join('\n');
    await gcloud.setRules([
      { match: 'services list *', exit: 1, stderr: notLoggedIn },
      ...EMPTY_PROJECT,
    ]);
    const result = await runScript('setup', ['--project', 'demo', '--dry-run'], env);
    expect(result.status).toBe(1);
    expect(printedCommands(result.stdout)).toEqual([]);
    expect(result.stderr).toBe(
      [
        'error: gcloud services list --enabled --project=demo failed: ERROR: (gcloud.services.list) You do not currently have an active account selected.',
        'Please run:',
        '  $ gcloud auth login',
        'to obtain new credentials.',
        '',
      ].join('\n'),
    );
  });

  it('stops when the enabled APIs cannot be listed, instead of planning to enable them all', async () => {
    await gcloud.setRules([
      {
        match: 'services list *',
        exit: 1,
        stderr:
          'ERROR: (gcloud.services.list) PERMISSION_DENIED: Permission denied to list services for consumer container [projects/demo]',
      },
      ...EMPTY_PROJECT,
    ]);
    const result = await runScript('setup', ['--project', 'demo', '--dry-run'], env);
    expect(result.status).toBe(1);
    expect(printedCommands(result.stdout)).toEqual([]);
    expect(result.stderr).toContain('error: gcloud services list --enabled --project=demo failed:');
  });

  it('refuses a set but empty ADMIN_PASSWORD_HASH, as the documented export leaves it when scripts/hash-password fails, before changing anything', async () => {
    await gcloud.setRules(EMPTY_PROJECT);
    // An empty password is the failure at hand: hash-password exits 2 and prints nothing.
    const result = await runCommand(
      'bash',
      [
        '-c',
        `export ADMIN_PASSWORD_HASH="$(printf %s '' | "$1/hash-password")"; "$1/setup" --project demo`,
        'docs',
        scriptsDir,
      ],
      env,
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('usage: printf %s "$PASSWORD" | scripts/hash-password');
    expect(result.stderr).toContain('error: ADMIN_PASSWORD_HASH is set but empty');
    expect(await gcloud.calls()).toEqual([]);
  });

  it('refuses an ADMIN_PASSWORD_HASH that is not an scrypt hash', async () => {
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'secrets'], {
      ...env,
      ADMIN_PASSWORD_HASH: 'a long admin passphrase',
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('ADMIN_PASSWORD_HASH is not an scrypt hash');
    expect(await gcloud.calls()).toEqual([]);
  });

  it('refuses ADMIN_TOKENS with a token the backend would refuse to start with (under 32 characters)', async () => {
    const long = 'a'.repeat(43);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'secrets'], {
      ...env,
      ADMIN_TOKENS: `${long}, short-token`,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('ADMIN_TOKENS: token 2 of 2 has 11 characters');
    expect(result.stderr).not.toContain(long);
    expect(await gcloud.calls()).toEqual([]);
  });

  it('grants the Cloud Build deployer read access to the uploaded source and its deploy roles, nothing more', async () => {
    await gcloud.setRules([
      notFound('storage buckets describe gs://demo_cloudbuild *'),
      ...convergedProject(fromZero(repo)),
    ]);
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
    expect(await gcloud.mutations()).toEqual(DEPLOYER_GRANTS);
  });

  it('names the source bucket the way gcloud builds submit does for domain-scoped projects', async () => {
    await gcloud.setRules(EMPTY_PROJECT);
    const result = await runScript(
      'setup',
      [
        '--project',
        'example.com:google-demo',
        '--steps',
        'iam',
        '--dry-run',
        '--build-service-account',
        'deployer@example.iam.gserviceaccount.com',
      ],
      env,
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      'gcloud storage buckets create gs://example_com_elgoog-demo_cloudbuild ',
    );
  });

  it('fails loudly when the variants folder cannot be made public', async () => {
    await gcloud.setRules([
      { match: 'storage managed-folders add-iam-policy-binding * --member=allUsers *', exit: 1 },
      ...EMPTY_PROJECT,
    ]);
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'iam'], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      'error: cannot make gs://demo-images/variants/ publicly readable',
    );
  });

  it('refuses a misspelt step, naming the steps there are, with exit 2 before any call', async () => {
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'queus'], env);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      "error: unknown step 'queus' in --steps; the steps are apis,storage,accounts,secrets,queues,backend,job,iam,workflow",
    );
    expect(await gcloud.calls()).toEqual([]);
  });

  it('refuses numbers that are not a quota, a share of it in (0, 1] or a batch size, with exit 2 before any call', async () => {
    const cases: [string, string, string][] = [
      ['--job-runs-per-minute', 'abc', '--job-runs-per-minute is the quota'],
      ['--job-runs-per-minute', '0', '--job-runs-per-minute is the quota'],
      ['--headroom', '80', '--headroom is the share of the quota the queues may use'],
      ['--headroom', '0', '--headroom is the share of the quota the queues may use'],
      ['--headroom', '-0.5', '--headroom is the share of the quota the queues may use'],
      ['--batch-size', '1001', '--batch-size is images per ingest execution'],
      ['--job-runs-per-minute', '1', 'leaves the ingest queue less than 0.01 dispatches/s'],
    ];
    for (const [flag, value, message] of cases) {
      const result = await runScript('setup', ['--project', 'demo', flag, value], env);
      expect(result.status, `${flag} ${value}`).toBe(2);
      expect(result.stderr).toContain(message);
    }
    expect(await gcloud.calls()).toEqual([]);
  });

  it('names the option that has no value instead of failing on an unbound $2', async () => {
    for (const args of [['--project'], ['--project', 'demo', '--region', '--dry-run']]) {
      const result = await runScript('setup', args, env);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^error: --(project|region) needs a value \(see --help\)$/m);
      expect(result.stderr).not.toContain('unbound variable');
    }
    expect(await gcloud.calls()).toEqual([]);
  });

  it('refuses --task-timeout and points to the one definition of the job limits', async () => {
    const result = await runScript('setup', ['--project', 'demo', '--task-timeout', '10m'], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('TASK_TIMEOUT_SECONDS in deploy/job-limits.env');
    expect(await gcloud.calls()).toEqual([]);
  });

  it('refuses a deploy/job-limits.env without JOB_PARALLELISM before changing anything', async () => {
    const file = join(repo, 'deploy/job-limits.env');
    const kept = await readFile(file, 'utf8');
    await writeFile(file, kept.replace(/^JOB_PARALLELISM=.*\n/m, ''));
    try {
      const result = await runScript('setup', ['--project', 'demo'], env);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(
        'must set MAX_RETRIES, TASK_TIMEOUT_SECONDS and JOB_PARALLELISM to whole numbers',
      );
      expect(await gcloud.calls()).toEqual([]);
    } finally {
      await writeFile(file, kept);
    }
  });

  it('refuses to run without a project and names the flag, with the exit 2 of bad usage', async () => {
    const result = await runScript('setup', [], env);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe('error: set --project or GOOGLE_CLOUD_PROJECT (see --help)\n');
    expect(await gcloud.calls()).toEqual([]);
  });
});
