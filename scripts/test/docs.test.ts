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
  runCommand,
  scriptsDir,
} from './helpers/gcloud-double.ts';
import { seedDatabase } from './helpers/seed-database.ts';

const repoRoot = join(scriptsDir, '..');
const ALLOWED = [
  'export',
  'scripts/setup',
  'scripts/rollback',
  'scripts/requeue-failed',
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

describe('the commands in docs/deploy.md and docs/operations.md', () => {
  let gcloud: GcloudDouble;
  let server: AdminServer;
  let work: string;
  const all: { doc: string; line: string }[] = [];

  beforeAll(async () => {
    for (const doc of DOCS) for (const line of await docCommands(doc)) all.push({ doc, line });
    server = await startAdminServer([failedTask('img-1', 'TIMEOUT', new Date().toISOString())]);
    // Everything exists; the backend URL is the loopback admin API.
    gcloud = await createGcloudDouble([
      { match: 'projects describe *', stdout: '123456' },
      { match: 'run services describe backend *status.url*', stdout: server.url },
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
    // The commands run in a scratch git repository (the workflow rollback
    // reads HEAD~1 from it) holding a database seeded with the real schema.
    work = await mkdtemp(join(tmpdir(), 'ops-docs-'));
    await mkdir(join(work, 'workflows'));
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
  });
  afterAll(async () => {
    await server.close();
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
    const bin = join(gcloud.dir, 'doc-bin');
    await mkdir(bin, { recursive: true });
    // litestream: a recorder. sqlite3: the real CLI when installed, else a node:sqlite stand-in.
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
      const result = await runCommand('bash', [script], {
        ...gcloud.env,
        PATH: `${bin}:${gcloud.env.PATH}`,
        DOC_LOG: join(work, 'doc.log'),
        SLIDESHOW_REPO: work,
        ADMIN_TOKEN: server.token,
      });
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
    expect(litestream).toContain(
      'litestream restore -o .data/slideshow.db gcs://my-project-images-db/slideshow.db',
    );
    expect(server.requests.some((r) => r.method === 'POST')).toBe(true);
  });

  it('include failed_tasks queries that answer correctly on a database built by the backend migrations', async () => {
    const queries = all.filter((c) => programOf(c.line) === 'sqlite3').map((c) => sqlOf(c.line));
    expect(queries.length).toBeGreaterThanOrEqual(6);
    const db = new DatabaseSync(join(work, '.data/slideshow.db'), { readOnly: true });
    try {
      const results = queries.map((sql) =>
        db.prepare(sql.replace("'IMAGE_ID'", "'img-timeout'")).all(),
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
      // One image's story.
      expect(results[4]?.[0]).toMatchObject({
        id: 'img-timeout',
        status: 'failed',
        execution: 'executions/img-timeout',
      });
      // Waiting longer than an hour, and the outbox.
      expect(results[5]).toEqual([{ status: 'queued', n: 1, oldest: expect.any(String) }]);
      expect(results[6]).toEqual([
        { queue: 'uploads', pending: 1, max_attempts: 2, last_error: 'UNAVAILABLE' },
      ]);
      // One image's timeline, written by the triggers of migration 002.
      expect(results[7]?.map((r) => r.kind)).toEqual(['uploaded', 'failed']);
    } finally {
      db.close();
    }
  });
});
