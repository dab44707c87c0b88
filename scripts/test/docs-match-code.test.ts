/**
 * docs/deploy.md, docs/operations.md and README.md state what the code does:
 * the failure codes table against the contracts' error codes, the IAM table
 * against the bindings scripts/setup makes, the job limits, the Cloud Build
 * substitutions, the throughput figures and setup's steps against their
 * sources.
 */
import { ERROR_CODES, permanenceOf } from '@slideshow/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELAY_DEFAULTS } from '../../apps/backend/src/outbox-relay.ts';
import { readJobLimits } from '../../tools/job-limits.ts';
import { readBuildConfig } from './helpers/cloudbuild.ts';
import {
  createGcloudDouble,
  type GcloudDouble,
  notFound,
  runScript,
} from './helpers/gcloud-double.ts';
import { readRepoText } from './helpers/repo-files.ts';

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
    deployDoc = await readRepoText('docs/deploy.md');
    operationsDoc = await readRepoText('docs/operations.md');
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
    const readme = flat(await readRepoText('README.md'));
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
    const setup = await readRepoText('scripts/setup');
    const steps = /^STEPS='([a-z,]+)'$/m.exec(setup)?.[1];
    expect(steps).toBeDefined();
    expect(deployDoc).toContain(`\`--steps ${steps}\``);
    expect(setup).toContain(`#   --steps LIST                comma list of ${steps}`);
  });
});
