/**
 * The commands of docs/deploy.md and docs/operations.md run as written: each
 * doc as one shell session against a recording gcloud, a loopback admin API
 * and Workflows revisions API, and a scratch repository whose database is
 * built by the backend migrations; their sqlite3 queries answer correctly and
 * the failed_tasks section describes every column they read.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminServer, failedTask, startAdminServer } from './helpers/admin-server.ts';
import { DOCS, docCommands, programOf } from './helpers/docs-commands.ts';
import {
  createGcloudDouble,
  type GcloudDouble,
  notFound,
  runCommand,
  scriptsDir,
} from './helpers/gcloud-double.ts';
import { readRepoText, repoRoot } from './helpers/repo-files.ts';
import { seedDatabase } from './helpers/seed-database.ts';
import {
  type RevisionsServer,
  startRevisionsServer,
} from './helpers/workflows-revisions-server.ts';

/** The programs a doc command may run: those this test knows how to stand in for. */
const ALLOWED = [
  'export',
  'scripts/setup',
  'scripts/rollback',
  'scripts/requeue-failed',
  'scripts/regenerate',
  'scripts/reconcile',
  'gcloud',
  'sqlite3',
  'litestream',
];

/** The SQL of a `sqlite3 … DB "SQL"` line. */
function sqlOf(line: string): string {
  const m = /^sqlite3 .*?\.data\/slideshow\.db "(.*)"$/.exec(line);
  if (!m?.[1]) throw new Error(`not a sqlite3 query line: ${line}`);
  return m[1];
}

/** A Workflows revision as `gcloud workflows describe --format=json` prints it. */
function revision(id: string): string {
  return JSON.stringify({
    revisionId: id,
    sourceContents: `# revision ${id}`,
    userEnvVars: { PROCESSOR_JOB: 'processor' },
    serviceAccount:
      'projects/my-project/serviceAccounts/slideshow-workflow@my-project.iam.gserviceaccount.com',
  });
}

/**
 * A gcloud for which everything exists: the backend URL is the loopback
 * admin API, and the Workflows endpoint override is the revisions API.
 */
function createDocsGcloud(adminUrl: string, revisionsUrl: string): Promise<GcloudDouble> {
  return createGcloudDouble([
    { match: 'config get api_endpoint_overrides/workflows', stdout: revisionsUrl },
    { match: 'auth print-access-token', stdout: 'doc-token' },
    {
      match: 'workflows describe process-image --revision-id=000003-abc *',
      stdout: revision('000003-abc'),
    },
    {
      match: 'workflows describe process-image * --format=value(revisionId)',
      stdout: '000004-xyz',
    },
    notFound('workflows describe process-batch *'),
    { match: 'projects describe *', stdout: '123456' },
    { match: 'run services describe backend *status.url*', stdout: adminUrl },
    { match: 'run services describe backend *status.traffic*', stdout: 'backend-00002-b' },
    {
      match: 'run revisions list *',
      stdout: JSON.stringify(
        ['backend-00002-b', 'backend-00001-a'].map((name, i) => ({
          metadata: { name, creationTimestamp: `2026-11-2${2 - i}T00:00:00Z` },
          status: { conditions: [{ type: 'Ready', status: 'True' }] },
        })),
      ),
    },
    {
      match: 'run jobs describe processor *',
      stdout: `europe-west1-docker.pkg.dev/demo/slideshow/processor@sha256:${'b'.repeat(64)}`,
    },
    {
      match: 'artifacts docker images list *',
      stdout: `sha256:${'b'.repeat(64)}\nsha256:${'a'.repeat(64)}`,
    },
  ]);
}

/**
 * The scratch git repository the commands run in (`git rev-parse HEAD` for
 * the builds), holding the workflow, the job limits and a database seeded
 * with the real schema.
 */
async function createScratchRepo(): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'ops-docs-'));
  await mkdir(join(work, 'workflows'));
  await mkdir(join(work, 'deploy'));
  await copyFile(join(repoRoot, 'deploy/job-limits.env'), join(work, 'deploy/job-limits.env'));
  await mkdir(join(work, '.data'));
  seedDatabase(join(work, '.data/slideshow.db'));
  const git = (...args: string[]) =>
    execFileSync('git', [
      '-C',
      work,
      '-c',
      'user.name=t',
      '-c',
      'user.email=t@example.com',
      ...args,
    ]);
  git('init', '-q');
  for (const message of ['one', 'two']) {
    await writeFile(
      join(work, 'workflows/process-image.workflows.yaml'),
      `# ${message}\nmain:\n  steps: []\n`,
    );
    git('add', 'workflows');
    git('commit', '-q', '-m', message);
  }
  return work;
}

/**
 * The programs the docs run beside gcloud, in `<gcloudDir>/doc-bin`: litestream
 * a recorder, sqlite3 the real CLI when installed, else a node:sqlite stand-in.
 */
async function createDocBin(gcloudDir: string): Promise<string> {
  const bin = join(gcloudDir, 'doc-bin');
  await mkdir(bin, { recursive: true });
  await writeFile(
    join(bin, 'litestream'),
    '#!/usr/bin/env bash\nprintf "litestream %s\\n" "$*" >>"$DOC_LOG"\n',
    { mode: 0o755 },
  );
  const hasSqlite = spawnSync('sqlite3', ['-version'], { stdio: 'ignore' }).status === 0;
  if (!hasSqlite)
    await symlink(join(scriptsDir, 'test/fixtures/sqlite3'), join(bin, 'sqlite3')).catch(
      () => undefined,
    );
  return bin;
}

describe('the commands in docs/deploy.md and docs/operations.md', () => {
  let gcloud: GcloudDouble;
  let server: AdminServer;
  let revisionsApi: RevisionsServer;
  let work: string;
  const all: { doc: string; line: string }[] = [];

  beforeAll(async () => {
    for (const doc of DOCS) for (const line of await docCommands(doc)) all.push({ doc, line });
    server = await startAdminServer([failedTask('img-1', 'TIMEOUT', new Date().toISOString())]);
    revisionsApi = await startRevisionsServer({
      'projects/my-project/locations/europe-west1/workflows/process-image': [
        '000004-xyz',
        '000003-abc',
      ],
    });
    gcloud = await createDocsGcloud(server.url, revisionsApi.url);
    work = await createScratchRepo();
  });
  afterAll(async () => {
    await server.close();
    await revisionsApi.close();
    await gcloud.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it('use only programs the tests know how to run', () => {
    expect(all.length).toBeGreaterThan(30);
    for (const { doc, line } of all) {
      expect(ALLOWED, `${doc}: ${line}`).toContain(programOf(line));
    }
  });

  it('run in order, each doc as one shell session, against a recording gcloud and a loopback admin API', async () => {
    const bin = await createDocBin(gcloud.dir);
    for (const doc of DOCS) {
      await gcloud.reset();
      const lines = all
        .filter((c) => c.doc === doc)
        .map(({ line }) =>
          line
            .replace(/(^|\s)scripts\//g, `$1${scriptsDir}/`)
            .replace(/ apps\//g, ` ${repoRoot}/apps/`),
        );
      const script = join(work, `${doc}.sh`);
      await writeFile(
        script,
        `set -euo pipefail\ncd ${JSON.stringify(work)}\n${lines.join('\n')}\n`,
      );
      await copyFile(join(scriptsDir, 'test/fixtures/gcloud'), join(bin, 'gcloud'));
      const result = await runCommand(
        'bash',
        [script],
        {
          ...gcloud.env,
          PATH: `${bin}:${gcloud.env.PATH}`,
          DOC_LOG: join(work, 'doc.log'),
          SLIDESHOW_REPO: work,
          ADMIN_TOKEN: server.token,
          // Each doc's session runs dozens of scripts, each a Node start: under a loaded
          // machine (CI runs the packages' suites side by side) 50 s was not enough. A bound,
          // not a figure: the test's own timeout is above two sessions of it.
        },
        undefined,
        120_000,
      );
      expect(result.status, `${doc}\n${result.stderr}`).toBe(0);
      const recorded = (await gcloud.calls()).map((c) => `gcloud ${c.argv.join(' ')}`);
      for (const line of lines.filter((l) => programOf(l) === 'gcloud')) {
        // The fixed words before the first variable or quote must have been run.
        const head = (/gcloud [^"'$]*/.exec(line)?.[0] ?? line).trim();
        expect(
          recorded.some((r) => r.startsWith(head)),
          `${doc}: ${line}`,
        ).toBe(true);
      }
    }
    const litestream = await readFile(join(work, 'doc.log'), 'utf8');
    // A production copy goes to /tmp, never over the local stack's database.
    expect(litestream).toContain(
      'litestream restore -o /tmp/slideshow.db gcs://my-project-images-db/slideshow.db',
    );
    expect(litestream).not.toContain('.data/');
    expect(server.requests.some((r) => r.method === 'POST')).toBe(true);
    // The workflow rollbacks read the revision history from the Workflows API.
    expect(revisionsApi.authorizations).toContain('Bearer doc-token');
  }, 300_000);

  it('include failed_tasks queries that answer correctly on a database built by the backend migrations', async () => {
    const queries = all.filter((c) => programOf(c.line) === 'sqlite3').map((c) => sqlOf(c.line));
    expect(queries.length).toBeGreaterThanOrEqual(6);
    const db = new DatabaseSync(join(work, '.data/slideshow.db'), { readOnly: true });
    try {
      const results = queries.map((sql) =>
        db
          .prepare(sql.replace("'IMAGE_ID'", "'img-timeout'").replace("'%NAME%'", "'%CORRUPT%'"))
          .all(),
      );
      // Unresolved, newest first: the resolved STORAGE_UNAVAILABLE row is left out.
      expect(results[0]?.map((r) => r.image_id)).toEqual(['img-timeout', 'img-corrupt']);
      // By code over 24 h.
      expect(results[1]?.map((r) => `${r.error_code}=${r.n}`).sort()).toEqual([
        'CORRUPT_IMAGE=1',
        'TIMEOUT=1',
      ]);
      // Per hour: three rows, newest hour first.
      expect(results[2]).toHaveLength(3);
      // By source.
      expect(results[3]?.map((r) => r.source).sort()).toEqual(['processor', 'workflow']);
      // An image by its file name, whatever the case of the name asked for.
      expect(results[4]?.map((r) => r.original_name)).toEqual(['img-corrupt.jpg']);
      // One image's story.
      expect(results[5]?.[0]).toMatchObject({
        id: 'img-timeout',
        status: 'failed',
        execution: 'executions/img-timeout',
      });
      // Waiting longer than an hour, the reaper's candidates, and the outbox.
      expect(results[6]).toEqual([{ status: 'queued', n: 1, oldest: expect.any(String) }]);
      expect(results[7]).toEqual([
        expect.objectContaining({ id: 'img-stuck', status: 'queued', alive_at: null }),
      ]);
      expect(results[8]).toEqual([
        { queue: 'uploads', pending: 1, batches: 0, max_attempts: 2, last_error: 'UNAVAILABLE' },
      ]);
      // One image's timeline, written by the triggers of migration 006.
      expect(results[9]?.map((r) => r.kind)).toEqual(['uploaded', 'failed']);
    } finally {
      db.close();
    }
  });

  it('describe, in the failed_tasks section, every failed_tasks column its queries read', async () => {
    const text = await readRepoText('docs/operations.md');
    const section = /^## Failed images: `failed_tasks`\n([\s\S]*?)^## /m.exec(text)?.[1] ?? '';
    const prose = section.replace(/^ *```bash\n[\s\S]*?^ *```$/gm, '');
    const queries = [...section.matchAll(/^sqlite3 .*$/gm)]
      .map((m) => sqlOf(m[0]))
      .filter((sql) => /\bfailed_tasks\b/.test(sql));
    expect(queries.length).toBeGreaterThanOrEqual(5);
    const db = new DatabaseSync(join(work, '.data/slideshow.db'), { readOnly: true });
    const columns = db
      .prepare("SELECT name FROM pragma_table_info('failed_tasks')")
      .all()
      .map((r) => String(r.name));
    db.close();
    // A column as the queries name it: bare in a failed_tasks query, `f.` in a join (not `i.id`).
    const read = columns.filter((c) =>
      queries.some((sql) => new RegExp(`(^|[^.\\w]|\\bf\\.)${c}\\b`).test(sql)),
    );
    expect(read).toEqual(expect.arrayContaining(['attempt_count', 'source', 'resolved_at']));
    expect(read.filter((c) => !new RegExp(`^- (\`\\w+\`, )*\`${c}\``, 'm').test(prose))).toEqual(
      [],
    );
  });
});
