import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AdminServer, failedTask, startAdminServer } from './helpers/admin-server.ts';
import {
  createGcloudDouble,
  type GcloudDouble,
  notFound,
  printedCommands,
  type Rule,
  removeKeptFiles,
  runScript,
} from './helpers/gcloud-double.ts';
import {
  type RevisionsServer,
  startRevisionsServer,
} from './helpers/workflows-revisions-server.ts';

const LOC = '--location=europe-west1 --project=demo';
const REG = '--region=europe-west1 --project=demo';
const IMAGE = 'europe-west1-docker.pkg.dev/demo/slideshow/processor';
/** An image digest: sha256 and 64 hex digits, all `c`. */
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const PAUSE = [
  `gcloud tasks queues pause image-uploads ${LOC}`,
  `gcloud tasks queues pause image-ingest ${LOC}`,
];
const RESUME = [
  `gcloud tasks queues resume image-uploads ${LOC}`,
  `gcloud tasks queues resume image-ingest ${LOC}`,
];
/** `gcloud run revisions list --format=json` output; conditions sorted by type like Knative's. */
function revisionsJson(revisions: [string, string, boolean][]): string {
  return JSON.stringify(
    revisions.map(([name, created, ready]) => ({
      metadata: { name, creationTimestamp: created },
      status: {
        conditions: [
          { type: 'Active', status: 'True' },
          { type: 'ContainerHealthy', status: ready ? 'True' : 'False' },
          { type: 'Ready', status: ready ? 'True' : 'False' },
          { type: 'ResourcesAvailable', status: 'True' },
        ],
      },
    })),
  );
}

const WORKFLOW = 'projects/demo/locations/europe-west1/workflows/process-image';
const WORKFLOW_SA = 'projects/demo/serviceAccounts/slideshow-workflow@demo.iam.gserviceaccount.com';
/**
 * `gcloud workflows describe process-image --revision-id=R --format=json` of the
 * good and the old revision (one line each: the double prints stdout with printf %b).
 */
const REVISIONS: Record<string, object> = {
  '000002-good': {
    name: WORKFLOW,
    revisionId: '000002-good',
    sourceContents: '# good workflow',
    userEnvVars: { PROCESSOR_JOB: 'processor', MAX_RETRIES: '3', TASK_TIMEOUT_SECONDS: '600' },
    serviceAccount: WORKFLOW_SA,
  },
  '000001-old': {
    name: WORKFLOW,
    revisionId: '000001-old',
    sourceContents: '# old workflow',
    serviceAccount: WORKFLOW_SA,
  },
};

function rules(revisionsApi: string): Rule[] {
  return [
    {
      match: 'run services describe backend *status.traffic*',
      stdout: 'backend-00003-bad',
    },
    {
      match: 'run revisions list --service=backend *',
      stdout: revisionsJson([
        ['backend-00004-failed', '2026-11-22T12:00:00Z', false],
        ['backend-00003-bad', '2026-11-22T10:00:00Z', true],
        ['backend-00002-good', '2026-11-21T10:00:00Z', true],
        ['backend-00001-old', '2026-11-20T10:00:00Z', true],
      ]),
    },
    { match: 'run jobs describe processor *', stdout: `${IMAGE}@${digest('b')}` },
    {
      match: `artifacts docker images list ${IMAGE} *`,
      stdout: [digest('c'), digest('b'), digest('a')].join('\n'),
    },
    { match: 'config get api_endpoint_overrides/workflows', stdout: revisionsApi },
    { match: 'auth print-access-token', stdout: 'tok-123' },
    ...Object.entries(REVISIONS).map(([id, revision]) => ({
      match: `workflows describe process-image --revision-id=${id} *`,
      stdout: JSON.stringify(revision),
    })),
    {
      match: 'workflows describe process-image * --format=value(revisionId)',
      stdout: '000003-bad',
    },
    notFound('workflows describe process-batch *'),
  ];
}

describe('scripts/rollback against a recording gcloud and a loopback admin API', () => {
  let gcloud: GcloudDouble;
  let server: AdminServer;
  let revisionsApi: RevisionsServer;
  let env: Record<string, string>;

  beforeAll(async () => {
    // Two revisions per page, so the script has to follow nextPageToken.
    revisionsApi = await startRevisionsServer(
      { [WORKFLOW]: ['000003-bad', '000002-good', '000001-old'] },
      2,
    );
    gcloud = await createGcloudDouble(rules(revisionsApi.url));
  });
  afterAll(async () => {
    await gcloud.cleanup();
    await revisionsApi.close();
  });
  beforeEach(async () => {
    await gcloud.reset();
    await gcloud.setRules(rules(revisionsApi.url));
    server = await startAdminServer([
      failedTask('img-1', 'JOB_FAILED', '2026-11-22T10:05:00.000Z'),
      failedTask('img-2', 'TIMEOUT', '2026-11-22T09:00:00.000Z'),
      // What a bad release can call a good image: re-queued with the rest of its failures.
      failedTask('img-3', 'CORRUPT_IMAGE', '2026-11-22T10:10:00.000Z'),
    ]);
    env = {
      ...gcloud.env,
      BACKEND_URL: server.url,
      ADMIN_TOKEN: server.token,
    };
  });
  afterEach(async () => {
    await server.close();
  });

  const since = ['--project', 'demo', '--since', '2026-11-22T10:00:00Z'];
  const retried = () => server.requests.filter((r) => r.method === 'POST').map((r) => r.url);

  it('shifts all backend traffic to the ready revision before the serving one, between a pause and a resume, then re-queues', async () => {
    const result = await runScript('rollback', [...since, 'backend'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([
      ...PAUSE,
      `gcloud run services update-traffic backend --to-revisions=backend-00002-good=100 ${REG}`,
      ...RESUME,
    ]);
    expect(server.requests[0]?.url).toBe(
      '/api/admin/failed-tasks?unresolved=true&limit=10000&since=2026-11-22T10%3A00%3A00.000Z',
    );
    expect(retried().sort()).toEqual([
      '/api/admin/images/img-1/retry',
      '/api/admin/images/img-3/retry',
    ]);
    expect(result.stdout).toContain('requeued: 2, failed: 0');
  });

  it('re-queues failures of the last hour when no --since is given', async () => {
    const result = await runScript('rollback', ['--project', 'demo', 'backend'], env);
    expect(result.status, result.stderr).toBe(0);
    const since =
      new URL(`http://x${server.requests[0]?.url ?? ''}`).searchParams.get('since') ?? '';
    const hoursAgo = (Date.now() - Date.parse(since)) / 3_600_000;
    expect(hoursAgo).toBeGreaterThan(0.9);
    expect(hoursAgo).toBeLessThan(1.1);
  });

  it('shifts traffic to a named backend revision', async () => {
    const result = await runScript('rollback', [...since, 'backend', 'backend-00001-old'], env);
    expect(result.status, result.stderr).toBe(0);
    expect((await gcloud.mutations())[2]).toBe(
      `gcloud run services update-traffic backend --to-revisions=backend-00001-old=100 ${REG}`,
    );
  });

  it('points the processor job back at the image pushed before the deployed digest', async () => {
    const result = await runScript('rollback', [...since, 'processor'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([
      ...PAUSE,
      `gcloud run jobs update processor --image=${IMAGE}@${digest('a')} ${REG}`,
      ...RESUME,
    ]);
  });

  it("restores the workflow revision deployed before the current one, from Workflows' own history: its source, env and account", async () => {
    const result = await runScript('rollback', [...since, 'workflow'], env);
    expect(result.status, result.stderr).toBe(0);
    const deploys = (await gcloud.calls()).filter((c) => c.argv[1] === 'deploy');
    expect(deploys).toHaveLength(1);
    const [deploy] = deploys;
    expect(deploy?.source).toBe('# good workflow');
    expect(JSON.parse(deploy?.envVarsFile ?? 'null')).toEqual({
      PROCESSOR_JOB: 'processor',
      MAX_RETRIES: '3',
      TASK_TIMEOUT_SECONDS: '600',
    });
    const mutations = await gcloud.mutations();
    expect(mutations.slice(0, 2)).toEqual(PAUSE);
    expect(mutations[2]).toMatch(
      new RegExp(
        `^gcloud workflows deploy process-image --source=\\S+/process-image\\.workflows\\.yaml --env-vars-file=\\S+/process-image\\.env\\.json --service-account=${WORKFLOW_SA} ${LOC} --format=none$`,
      ),
    );
    expect(mutations.slice(3)).toEqual(RESUME);
    expect(result.stderr).toContain(
      'workflow: process-image back to revision 000002-good (now 000003-bad)',
    );
    // The revision list came from the API, with gcloud's token.
    expect(revisionsApi.authorizations.at(-1)).toBe('Bearer tok-123');
  });

  it('restores a named workflow revision, clearing env vars it did not have', async () => {
    const result = await runScript('rollback', [...since, 'workflow', '000001-old'], env);
    expect(result.status, result.stderr).toBe(0);
    const deploy = (await gcloud.calls()).find((c) => c.argv[1] === 'deploy');
    expect(deploy?.source).toBe('# old workflow');
    expect(deploy?.argv).toContain('--clear-env-vars');
  });

  it('refuses to go back by default from a revision that is itself a rollback, before pausing anything', async () => {
    // 000003 redeployed 000001's contents (a rollback of the bad 000002): "the revision
    // before the current one" would be the bad release again.
    const good = { sourceContents: '# good workflow', serviceAccount: WORKFLOW_SA };
    const history = await startRevisionsServer({
      [WORKFLOW]: [
        { revisionId: '000003-rolled', ...good, userEnvVars: { B: '2', A: '1' } },
        { revisionId: '000002-bad', sourceContents: '# bad workflow', serviceAccount: WORKFLOW_SA },
        { revisionId: '000001-good', ...good, userEnvVars: { A: '1', B: '2' } },
      ],
    });
    try {
      await gcloud.setRules([
        { match: 'config get api_endpoint_overrides/workflows', stdout: history.url },
        {
          match: 'workflows describe process-image * --format=value(revisionId)',
          stdout: '000003-rolled',
        },
        ...rules(revisionsApi.url),
      ]);
      const result = await runScript('rollback', [...since, 'workflow'], env);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain(
        'workflow process-image runs revision 000003-rolled, which has the contents of the older revision 000001-good',
      );
      expect(await gcloud.mutations()).toEqual([]);
      // Named, the same revision is taken: the operator chose it.
      const named = await runScript('rollback', [...since, 'workflow', '000001-old'], env);
      expect(named.stderr).toContain('workflow process-image has no revision 000001-old');
    } finally {
      await history.close();
    }
  });

  it('refuses a workflow revision the history does not have, before pausing anything', async () => {
    const result = await runScript('rollback', [...since, 'workflow', '000009-nope'], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('workflow process-image has no revision 000009-nope');
    expect(await gcloud.mutations()).toEqual([]);
  });

  it('stops before pausing anything when the workflow has no older revision', async () => {
    await gcloud.setRules([
      {
        match: 'workflows describe process-image * --format=value(revisionId)',
        stdout: '000001-old',
      },
      ...rules(revisionsApi.url),
    ]);
    const result = await runScript('rollback', [...since, 'workflow'], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no revision of workflow process-image older than 000001-old');
    expect(await gcloud.mutations()).toEqual([]);
  });

  it('rolls back all three in a fixed order inside one pause', async () => {
    const result = await runScript('rollback', [...since, 'all'], env);
    expect(result.status, result.stderr).toBe(0);
    const mutations = await gcloud.mutations();
    expect(mutations.map((m) => m.split(' ').slice(0, 5).join(' '))).toEqual([
      'gcloud tasks queues pause image-uploads',
      'gcloud tasks queues pause image-ingest',
      'gcloud run services update-traffic backend',
      'gcloud run jobs update processor',
      expect.stringMatching(/^gcloud workflows deploy process-image --source=\S+$/),
      'gcloud tasks queues resume image-uploads',
      'gcloud tasks queues resume image-ingest',
    ]);
  });

  it('prints every command on a dry run, changes nothing and re-queues nothing', async () => {
    const result = await runScript('rollback', [...since, '--dry-run', 'backend'], env);
    expect(result.status, result.stderr).toBe(0);
    expect(await gcloud.mutations()).toEqual([]);
    expect(printedCommands(result.stdout)).toEqual([
      ...PAUSE,
      `gcloud run services update-traffic backend --to-revisions=backend-00002-good=100 ${REG}`,
      ...RESUME,
    ]);
    expect(retried()).toEqual([]);
    expect(result.stdout).toContain('would requeue img-1');
  });

  it('keeps, on a dry run, the workflow files its printed deploy names, so it can be replayed', async () => {
    const result = await runScript('rollback', [...since, '--dry-run', 'workflow'], env);
    expect(result.status, result.stderr).toBe(0);
    const deploy = printedCommands(result.stdout).find((c) =>
      c.startsWith('gcloud workflows deploy'),
    );
    const source = /--source=(\S+)/.exec(deploy ?? '')?.[1] ?? '';
    try {
      expect(readFileSync(source, 'utf8')).toBe('# good workflow');
    } finally {
      expect(await removeKeptFiles(result.stderr)).toBe(dirname(source));
    }
  });

  it('still resumes both queues when the switch fails, and does not re-queue', async () => {
    await gcloud.setRules([
      { match: 'run services update-traffic *', exit: 1 },
      ...rules(revisionsApi.url),
    ]);
    const result = await runScript('rollback', [...since, 'backend'], env);
    expect(result.status).not.toBe(0);
    expect(await gcloud.mutations()).toEqual([
      ...PAUSE,
      `gcloud run services update-traffic backend --to-revisions=backend-00002-good=100 ${REG}`,
      ...RESUME,
    ]);
    expect(server.requests).toEqual([]);
  });

  it('stops before pausing anything when no older ready revision exists', async () => {
    await gcloud.setRules([
      {
        match: 'run revisions list *',
        stdout: revisionsJson([
          ['backend-00004-failed', '2026-11-22T12:00:00Z', false],
          ['backend-00003-bad', '2026-11-22T10:00:00Z', true],
        ]),
      },
      ...rules(revisionsApi.url),
    ]);
    const result = await runScript('rollback', [...since, 'backend'], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no ready revision older than backend-00003-bad');
    expect(await gcloud.mutations()).toEqual([]);
  });

  it('refuses a --since that is not ISO 8601 with an offset before reading or changing anything, in its own words', async () => {
    for (const since of ['yesterday', '2026-11-22T10:00:00', '2026-02-30T10:00:00Z']) {
      await gcloud.reset();
      const result = await runScript(
        'rollback',
        ['--project', 'demo', '--since', since, 'processor'],
        env,
      );
      expect(result.status, since).toBe(2);
      // requeue-failed checks it, but its usage text is not rollback's.
      expect(result.stderr).toBe(
        `error: Expected an ISO 8601 time with an offset for --since, like 2026-11-22T10:00:00Z or 2026-11-22T11:00:00+01:00, but received "${since}" (see --help)\n`,
      );
      expect(await gcloud.mutations()).toEqual([]);
      expect(printedCommands(result.stdout)).toEqual([]);
    }
    expect(server.requests).toEqual([]);
  });

  it('refuses a digest that is not sha256 and 64 hex digits as bad usage, before any call', async () => {
    for (const bad of ['sha256:00', `sha256:${'A'.repeat(64)}`, `sha512:${'a'.repeat(64)}`]) {
      await gcloud.reset();
      const result = await runScript('rollback', [...since, 'processor', bad], env);
      expect(result.status, bad).toBe(2);
      expect(result.stderr).toContain(
        `expected a digest sha256: and 64 lowercase hex digits but received ${bad}`,
      );
      expect(await gcloud.calls()).toEqual([]);
    }
    expect(server.requests).toEqual([]);
  });

  it('refuses a missing project, a missing or unknown target, an argument to `all` and an extra argument with exit 2, before any call', async () => {
    // runScript clears GOOGLE_CLOUD_PROJECT: no --project means no project.
    for (const [args, message] of [
      [['backend'], 'error: set --project or GOOGLE_CLOUD_PROJECT (see --help)'],
      [
        ['--project', 'demo'],
        'error: name what to roll back: backend, processor, workflow or all (see --help)',
      ],
      [
        ['--project', 'demo', 'frontend'],
        "error: unknown target 'frontend': the targets are backend, processor, workflow and all (see --help)",
      ],
      [
        ['--project', 'demo', 'all', '000002-good'],
        'error: `all` takes no argument (use --workflow-revision) (see --help)',
      ],
      [
        ['--project', 'demo', 'backend', 'backend-00002-good', 'extra'],
        'error: unexpected argument: extra (see --help)',
      ],
    ] as const) {
      await gcloud.reset();
      const result = await runScript('rollback', [...args], env);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toBe(`${message}\n`);
      expect(await gcloud.calls()).toEqual([]);
    }
    expect(server.requests).toEqual([]);
  });

  it('names the option that has no value, and refuses an unknown one, with exit 2 before any call', async () => {
    for (const [args, message] of [
      [['backend', '--since'], 'error: --since needs a value'],
      [['--project', '--dry-run', 'backend'], 'error: --project needs a value'],
      [['--project', 'demo', '--sinse', 'x', 'backend'], 'error: unknown option: --sinse'],
    ] as const) {
      const result = await runScript('rollback', [...args], env);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toContain('unbound variable');
    }
    expect(await gcloud.calls()).toEqual([]);
  });

  it('refuses to start without an admin token unless told not to re-queue', async () => {
    const { ADMIN_TOKEN: _, ...noToken } = env;
    const refused = await runScript('rollback', [...since, 'backend'], {
      ...noToken,
      ADMIN_TOKEN: '',
    });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('set ADMIN_TOKEN');
    expect(await gcloud.mutations()).toEqual([]);
    const allowed = await runScript('rollback', [...since, '--no-requeue', 'backend'], {
      ...noToken,
      ADMIN_TOKEN: '',
    });
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(server.requests).toEqual([]);
  });
});
