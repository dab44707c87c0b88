import { execFileSync, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { ERROR_CODES, permanenceOf } from '@slideshow/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_DEFAULTS } from '../../apps/backend/src/outbox-relay.ts';
import { readJobLimits } from '../../tools/job-limits.ts';
import { type AdminServer, failedTask, startAdminServer } from './helpers/admin-server.ts';
import { readBuildConfig } from './helpers/cloudbuild.ts';
import { checkReferences, githubSlug, headingsOf, textFilesOf } from './helpers/doc-references.ts';
import { DOCS, docCommands, programOf } from './helpers/docs-commands.ts';
import {
  createGcloudDouble,
  type GcloudDouble,
  notFound,
  runCommand,
  runScript,
  scriptsDir,
} from './helpers/gcloud-double.ts';
import { seedDatabase } from './helpers/seed-database.ts';
import {
  type RevisionsServer,
  startRevisionsServer,
} from './helpers/workflows-revisions-server.ts';

const repoRoot = join(scriptsDir, '..');
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
    const revision = (id: string) =>
      JSON.stringify({
        revisionId: id,
        sourceContents: `# revision ${id}`,
        userEnvVars: { PROCESSOR_JOB: 'processor' },
        serviceAccount:
          'projects/my-project/serviceAccounts/slideshow-workflow@my-project.iam.gserviceaccount.com',
      });
    // Everything exists; the backend URL is the loopback admin API.
    gcloud = await createGcloudDouble([
      { match: 'config get api_endpoint_overrides/workflows', stdout: revisionsApi.url },
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
    // The commands run in a scratch git repository (`git rev-parse HEAD` for
    // the builds) holding the workflow, the job limits and a database seeded
    // with the real schema.
    work = await mkdtemp(join(tmpdir(), 'ops-docs-'));
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
    // A production copy goes to /tmp, never over the local stack's database.
    expect(litestream).toContain(
      'litestream restore -o /tmp/slideshow.db gcs://my-project-images-db/slideshow.db',
    );
    expect(litestream).not.toContain('.data/');
    expect(server.requests.some((r) => r.method === 'POST')).toBe(true);
    // The workflow rollbacks read the revision history from the Workflows API.
    expect(revisionsApi.authorizations).toContain('Bearer doc-token');
  });

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
    const text = await readFile(join(repoRoot, 'docs/operations.md'), 'utf8');
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

/** A `principal | role | on` triple, in the words of docs/deploy.md's IAM table. */
type Grant = string;

/** The triples of the IAM table: each row's roles × targets (both comma-separated). */
function tableGrants(markdown: string): Grant[] {
  const section = markdown.slice(markdown.indexOf('## IAM: who may do what'));
  const rows = section
    .split('\n')
    .filter((l) => l.startsWith('| '))
    .slice(2) // header and rule
    .map((l) => l.split('|').map((c) => c.trim()));
  const grants: Grant[] = [];
  const plain = (cell: string) => cell.replaceAll('`', '');
  for (const [, principal = '', roles = '', on = ''] of rows) {
    for (const role of plain(roles).split(', ')) {
      for (const target of plain(on).split(', '))
        grants.push(`${plain(principal)} | ${role} | ${target}`);
    }
  }
  return grants.sort();
}

/** The same triples from the `add-iam-policy-binding` commands setup ran on project "demo". */
function setupGrants(commands: string[]): Grant[] {
  const grants: Grant[] = [];
  const account = (email: string) => email.replace(/@demo\.iam\.gserviceaccount\.com$/, '');
  for (const command of commands) {
    const m = /^gcloud (.+) add-iam-policy-binding (\S+) .*--member=(\S+) --role=(\S+)/.exec(
      command,
    );
    if (!m) continue;
    const [, group = '', resource = '', member = '', role = ''] = m;
    const principal =
      member === 'allUsers'
        ? 'allUsers'
        : member === 'serviceAccount:deployer@demo.iam.gserviceaccount.com'
          ? 'build account'
          : account(member.replace(/^serviceAccount:/, ''));
    const target =
      group === 'projects'
        ? 'project'
        : group === 'run jobs'
          ? `job ${resource}`
          : group === 'storage buckets'
            ? `bucket ${resource.replace('gs://demo-images', '$BUCKET').replace('gs://demo_cloudbuild', 'PROJECT_cloudbuild')}`
            : group === 'storage managed-folders'
              ? `folder ${resource.replace('gs://demo-images', '$BUCKET')}`
              : group === 'secrets'
                ? `secret ${resource}`
                : group === 'iam service-accounts'
                  ? `account ${account(resource)}`
                  : group === 'artifacts repositories'
                    ? `repository ${resource}`
                    : group === 'tasks queues'
                      ? `queue ${resource}`
                      : `unknown ${group} ${resource}`;
    grants.push(
      `${principal} | ${role.replace('projects/demo/', 'projects/PROJECT/')} | ${target}`,
    );
  }
  return grants.sort();
}

describe('docs/deploy.md and docs/operations.md state what the code does', () => {
  let gcloud: GcloudDouble;
  let deployDoc = '';
  let operationsDoc = '';

  beforeAll(async () => {
    gcloud = await createGcloudDouble([
      {
        match: 'run services describe backend * --format=value(status.url)',
        stdout: 'https://b.example',
      },
      notFound('*describe*'),
    ]);
    deployDoc = await readFile(join(repoRoot, 'docs/deploy.md'), 'utf8');
    operationsDoc = await readFile(join(repoRoot, 'docs/operations.md'), 'utf8');
  });
  afterAll(async () => {
    await gcloud.cleanup();
  });

  it('the failure codes table has a row for every error code, and says skipped exactly for the permanent ones', () => {
    const section = operationsDoc.split('\n### Failure codes\n')[1]?.split('\n#')[0] ?? '';
    const rows = section
      .split('\n')
      .filter((l) => l.startsWith('| `'))
      .map((l) => l.split(' | '));
    const byCode = new Map<string, string>();
    for (const cells of rows) {
      for (const [, code] of (cells[0] ?? '').matchAll(/`([A-Z_]+)`/g)) {
        if (code) byCode.set(code, (cells[4] ?? '').trim());
      }
    }
    expect(ERROR_CODES.filter((c) => !byCode.has(c))).toEqual([]);
    for (const [code, byDefault] of byCode) {
      expect(byDefault.startsWith('skipped'), `${code}: ${byDefault}`).toBe(
        permanenceOf(code) !== undefined,
      );
    }
  });

  it('the IAM table lists exactly the bindings scripts/setup makes', async () => {
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
      gcloud.env,
    );
    expect(result.status, result.stderr).toBe(0);
    const made = setupGrants(await gcloud.mutations());
    expect(made.length).toBeGreaterThan(15);
    expect(tableGrants(deployDoc)).toEqual(made);
  });

  it('the job limits the docs quote are those of deploy/job-limits.env', () => {
    const { maxRetries, taskTimeoutSeconds, jobParallelism } = readJobLimits();
    expect(deployDoc).toContain(
      `(1 task, ${maxRetries} retries, ${taskTimeoutSeconds} s task timeout,`,
    );
    expect(deployDoc.replace(/\s+/g, ' ')).toContain(
      `\`MAX_RETRIES=${maxRetries}\`, \`TASK_TIMEOUT_SECONDS=${taskTimeoutSeconds}\`, \`JOB_PARALLELISM=${jobParallelism}\``,
    );
    expect(operationsDoc).toContain(
      `\`JOB_PARALLELISM\` (${jobParallelism}) is the one setting of a batch's fan-out`,
    );
    expect(operationsDoc).toContain(
      `\`TASK_TIMEOUT_SECONDS\` (${taskTimeoutSeconds} s, \`deploy/job-limits.env\`)`,
    );
    expect(operationsDoc).toContain(`retried up to \`MAX_RETRIES\` (${maxRetries}) times`);
  });

  it('the Cloud Build substitutions listed are exactly those the configs declare', async () => {
    const declared = new Set<string>();
    for (const file of [
      'backend.cloudbuild.yaml',
      'processor.cloudbuild.yaml',
      'workflows.cloudbuild.yaml',
    ]) {
      for (const name of Object.keys((await readBuildConfig(file)).substitutions ?? {}))
        declared.add(name);
    }
    const paragraph =
      /Substitutions, all with defaults except the first two:([\s\S]*?)\n\n/.exec(deployDoc)?.[1] ??
      '';
    const listed = new Set([...paragraph.matchAll(/`(_[A-Z_]+)`/g)].map((m) => m[1]));
    expect([...listed].sort()).toEqual([...declared].sort());
  });

  it("the throughput figures follow from setup's queue rates and the backend's images per execution", async () => {
    const result = await runScript('setup', ['--project', 'demo', '--steps', 'queues'], gcloud.env);
    expect(result.status, result.stderr).toBe(0);
    const note =
      /uploads ([\d.]+)\/s \((\d+) images\/h\), ingest ([\d.]+)\/s x (\d+) images \((\d+) images\/h\)/.exec(
        result.stderr,
      );
    expect(note, result.stderr).not.toBeNull();
    const [, uploadsRate = '', , ingestRate = '', setupBatch = ''] = note ?? [];
    const perExecution = RELAY_DEFAULTS.imagesPerExecution;
    // What setup assumes per ingest execution is what the backend's relay puts in one.
    expect(Number(setupBatch)).toBe(perExecution.ingest);
    expect(perExecution.uploads).toBe(1);
    const perHour = (rate: string, images: number) =>
      Math.round(Number(rate) * 3600 * images).toLocaleString('en-US');
    const uploadsPerHour = perHour(uploadsRate, perExecution.uploads);
    const ingestPerHour = perHour(ingestRate, perExecution.ingest);
    const flat = (text: string) => text.replace(/\s+/g, ' ');
    const readme = flat(await readFile(join(repoRoot, 'README.md'), 'utf8'));
    expect(readme).toContain(
      `uploads ${uploadsRate}/s × 1 image per execution = ${uploadsPerHour} images/h`,
    );
    expect(readme).toContain(
      `ingest ${ingestRate}/s × ${perExecution.ingest} images per batch execution`,
    );
    expect(readme).toContain(`= ${ingestPerHour} images/h while full batches wait`);
    const operations = flat(operationsDoc);
    expect(operations).toContain(
      `**${uploadsRate}/s** → one image per run → ${uploadsRate} × 3600 = **${uploadsPerHour} images per hour**`,
    );
    expect(operations).toContain(
      `**${ingestRate}/s** → one execution per batch of \`INGEST_BATCH_SIZE\` images (default ${perExecution.ingest},`,
    );
    expect(operations).toContain(
      `${ingestRate} × 3600 × ${perExecution.ingest} = **${ingestPerHour} images per hour**`,
    );
  });

  it("the setup steps listed are setup's own, in its order", async () => {
    const setup = await readFile(join(scriptsDir, 'setup'), 'utf8');
    const steps = /^STEPS='([a-z,]+)'$/m.exec(setup)?.[1];
    expect(steps).toBeDefined();
    expect(deployDoc).toContain(`\`--steps ${steps}\``);
    expect(setup).toContain(`#   --steps LIST                comma list of ${steps}`);
  });
});

describe('references into the docs', () => {
  const show = (b: { file: string; line: number; text: string; reason: string }) =>
    `${b.file}:${b.line}: ${b.text} (${b.reason})`;

  it('every docs/<file>.md#anchor, Markdown link, quoted heading and section sign in the repository resolves, and none cites the design document or an issue number', () => {
    const { checked, broken } = checkReferences(repoRoot, textFilesOf(repoRoot));
    // It looked: the repository has dozens of each kind (a scan that finds nothing passes vacuously).
    expect(checked.anchor).toBeGreaterThan(20);
    expect(checked.link).toBeGreaterThan(30);
    expect(checked.quoted).toBeGreaterThan(30);
    expect(checked.section).toBeGreaterThan(10);
    expect(broken.map(show)).toEqual([]);
  });

  it('docs/architecture.md has the headings the code points at', async () => {
    const { anchors } = headingsOf(await readFile(join(repoRoot, 'docs/architecture.md'), 'utf8'));
    for (const anchor of [
      'the-pipeline',
      'dispatch',
      'the-local-stack',
      'contracts',
      'error-codes-and-http-statuses',
      'image-states',
      'generations',
      'who-retries-what',
      'the-invariant',
      'the-single-writer',
      'package-seams',
    ])
      expect([...anchors]).toContain(anchor);
  });

  it('slugs headings as GitHub does: punctuation and code marks dropped, each space a hyphen, repeats numbered', () => {
    expect(githubSlug('Failed images: `failed_tasks`')).toBe('failed-images-failed_tasks');
    expect(githubSlug('IAM: who may do what')).toBe('iam-who-may-do-what');
    expect(githubSlug('1. Infrastructure: `scripts/setup`')).toBe('1-infrastructure-scriptssetup');
    expect(githubSlug('Public service, app-authenticated callbacks')).toBe(
      'public-service-app-authenticated-callbacks',
    );
    expect(githubSlug('web-v2 — the [same](x.md) quality')).toBe('web-v2--the-same-quality');
    const { anchors } = headingsOf('# A\n## Twice\n```sh\n# not a heading\n```\n## Twice\n');
    expect([...anchors]).toEqual(['a', 'twice', 'twice-1']);
  });

  it('reports each kind of broken reference in a scratch repository', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'doc-refs-'));
    try {
      // Built at run time, so this file itself holds none of the references it plants.
      const doc = ['docs', 'a.md'].join('/');
      const sign = '\u00a7';
      await mkdir(join(dir, 'docs'));
      await mkdir(join(dir, 'src'));
      await writeFile(
        join(dir, doc),
        '# A\n\n## Who retries what\n\n## 1. Numbered\n\n```\n## Fenced\n```\n',
      );
      const lines = [
        `// ok: ${doc}#who-retries-what, ${doc}#1-numbered, ${doc}, "Who retries"`,
        `// ok: RFC 9110 ${sign}15.5, ${doc} ${sign}1, libvips issue 12 (https://github.com/libvips/libvips/issues/12)`,
        `// ${doc}#fenced`,
        `// ${doc}#whoretries`,
        `// ${['docs', 'b.md'].join('/')}#a`,
        `// ${doc}, "Nowhere"`,
        `// see ${sign}4`,
        `// ${'DESIGN'} ${sign}3.4`,
        `// ${'issue'} 8`,
      ];
      await writeFile(join(dir, 'src/x.ts'), `${lines.join('\n')}\n`);
      await writeFile(
        join(dir, 'README.md'),
        `[ok](${doc}#a) [gone](${doc}#gone) [none](none.md)\n`,
      );
      const { broken } = checkReferences(dir, ['src/x.ts', 'README.md']);
      expect(broken.map((b) => `${b.file}:${b.line} ${b.reason}`)).toEqual([
        `src/x.ts:3 ${doc} has no heading with the anchor #fenced`,
        `src/x.ts:4 ${doc} has no heading with the anchor #whoretries`,
        'src/x.ts:5 no file docs/b.md',
        `src/x.ts:6 ${doc} has no heading "Nowhere"`,
        `src/x.ts:7 a ${sign} that cites no external standard and no numbered heading of a named document; use docs/<file>.md#<anchor>`,
        `src/x.ts:8 a ${sign} that cites no external standard and no numbered heading of a named document; use docs/<file>.md#<anchor>`,
        'src/x.ts:8 the design document is not in the repository: use docs/architecture.md#<anchor>',
        'src/x.ts:9 issue numbers mean nothing to a cloner: state the decision itself',
        `README.md:1 ${doc} has no heading with the anchor #gone`,
        'README.md:1 no file none.md',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
