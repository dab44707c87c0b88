import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AdminServer, failedTask, startAdminServer } from './helpers/admin-server.ts';
import {
  createGcloudDouble,
  type GcloudDouble,
  printedCommands,
  type Rule,
  runScript,
} from './helpers/gcloud-double.ts';

const LOC = '--location=europe-west1 --project=demo';
const REG = '--region=europe-west1 --project=demo';
const IMAGE = 'europe-west1-docker.pkg.dev/demo/slideshow/processor';
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

const RULES: Rule[] = [
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
  { match: 'run jobs describe processor *', stdout: `${IMAGE}@sha256:bbb` },
  {
    match: `artifacts docker images list ${IMAGE} *`,
    stdout: 'sha256:ccc\nsha256:bbb\nsha256:aaa',
  },
];

describe('scripts/rollback against a recording gcloud and a loopback admin API', () => {
  let gcloud: GcloudDouble;
  let repo: string;
  let server: AdminServer;
  let env: Record<string, string>;
  const git = (...args: string[]) =>
    execFileSync(
      'git',
      ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args],
      {
        encoding: 'utf8',
      },
    ).trim();

  beforeAll(async () => {
    gcloud = await createGcloudDouble(RULES);
    repo = await mkdtemp(join(tmpdir(), 'ops-rollback-repo-'));
    await mkdir(join(repo, 'workflows'));
    git('init', '-q');
    await writeFile(join(repo, 'workflows/process-image.workflows.yaml'), '# good workflow\n');
    git('add', '.');
    git('commit', '-q', '-m', 'good');
    await writeFile(join(repo, 'workflows/process-image.workflows.yaml'), '# bad workflow\n');
    await writeFile(join(repo, 'workflows/process-batch.workflows.yaml'), '# new batch workflow\n');
    git('add', '.');
    git('commit', '-q', '-m', 'bad');
  });
  afterAll(async () => {
    await gcloud.cleanup();
    await rm(repo, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await gcloud.reset();
    await gcloud.setRules(RULES);
    server = await startAdminServer([
      failedTask('img-1', 'JOB_FAILED', '2026-11-22T10:05:00.000Z'),
      failedTask('img-2', 'TIMEOUT', '2026-11-22T09:00:00.000Z'),
    ]);
    env = {
      ...gcloud.env,
      SLIDESHOW_REPO: repo,
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
      '/api/admin/failed-tasks?unresolved=true&since=2026-11-22T10%3A00%3A00.000Z',
    );
    expect(retried()).toEqual(['/api/admin/images/img-1/retry']);
    expect(result.stdout).toContain('requeued: 1, failed: 0');
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
      `gcloud run jobs update processor --image=${IMAGE}@sha256:aaa ${REG}`,
      ...RESUME,
    ]);
  });

  it('redeploys the workflow source of a git revision and only the workflows that existed then', async () => {
    const result = await runScript('rollback', [...since, 'workflow', 'HEAD~1'], env);
    expect(result.status, result.stderr).toBe(0);
    const deploys = (await gcloud.calls()).filter((c) => c.argv[1] === 'deploy');
    expect(deploys.map((c) => [c.argv[2], c.source])).toEqual([
      ['process-image', '# good workflow'],
    ]);
    const mutations = await gcloud.mutations();
    expect(mutations.slice(0, 2)).toEqual(PAUSE);
    expect(mutations[2]).toMatch(
      /^gcloud workflows deploy process-image --source=\S+\/process-image\.workflows\.yaml --location=europe-west1 --project=demo$/,
    );
    expect(mutations.slice(3)).toEqual(RESUME);
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

  it('still resumes both queues when the switch fails, and does not re-queue', async () => {
    await gcloud.setRules([{ match: 'run services update-traffic *', exit: 1 }, ...RULES]);
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
      ...RULES,
    ]);
    const result = await runScript('rollback', [...since, 'backend'], env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('no ready revision older than backend-00003-bad');
    expect(await gcloud.mutations()).toEqual([]);
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
