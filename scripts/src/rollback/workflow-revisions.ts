/**
 * The workflow's revision history, for `scripts/rollback workflow`. gcloud 528
 * has no command that lists a workflow's revisions (only `gcloud workflows
 * describe --revision-id`), so this calls the Workflows API's
 * `projects.locations.workflows.listRevisions` itself
 * (https://cloud.google.com/workflows/docs/reference/rest/v1/projects.locations.workflows/listRevisions:
 * revisions "ordered in reverse chronological order", at most 100 per page).
 *
 *   node workflow-revisions.ts list projects/P/locations/L/workflows/W
 *     env WORKFLOWS_API_URL (gcloud's api_endpoint_overrides/workflows, or
 *     https://workflows.googleapis.com/) and WORKFLOWS_ACCESS_TOKEN (gcloud's);
 *     prints the revision ids, newest first, each followed (after a space) by the id of
 *     the newest older revision with the same source, env vars and service account,
 *     when one has them: a revision that is a rollback (or a redeploy) of that one.
 *   node workflow-revisions.ts files DIR NAME < describe.json
 *     reads `gcloud workflows describe NAME --revision-id=R --format=json`,
 *     writes DIR/NAME.workflows.yaml (its source) and, when it has env vars,
 *     DIR/NAME.env.json (for --env-vars-file; JSON is YAML); prints its service account.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';

/** The fields of a Workflow (one revision) this reads. */
export interface WorkflowRevision {
  revisionId?: string;
  sourceContents?: string;
  userEnvVars?: Record<string, string>;
  serviceAccount?: string;
}

/** Pages read at most: 10 × 100 revisions is far more history than a rollback needs. */
const MAX_PAGES = 10;

/** Lists the revisions of a workflow, newest first. Throws with the API's status and message. */
export async function listRevisions(
  apiUrl: string,
  workflow: string,
  accessToken: string,
): Promise<WorkflowRevision[]> {
  if (!/^projects\/[^/]+\/locations\/[^/]+\/workflows\/[^/]+$/.test(workflow)) {
    throw new Error(
      `Expected projects/P/locations/L/workflows/W for workflow but received ${workflow}`,
    );
  }
  const base = apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`;
  const revisions: WorkflowRevision[] = [];
  let pageToken = '';
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const url = new URL(`v1/${workflow}:listRevisions`, base);
    url.searchParams.set('pageSize', '100');
    if (pageToken !== '') url.searchParams.set('pageToken', pageToken);
    const response = await fetch(url, {
      headers: { authorization: `Bearer ${accessToken}` },
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json().catch((error: unknown) => ({
      error: { message: `unreadable response: ${String(error)}` },
    }))) as {
      workflows?: WorkflowRevision[];
      nextPageToken?: string;
      error?: { message?: string };
    };
    if (!response.ok) {
      throw new Error(
        `listRevisions ${workflow}: HTTP ${response.status} ${body.error?.message ?? ''}`.trim(),
      );
    }
    for (const revision of body.workflows ?? []) {
      if (typeof revision.revisionId === 'string') revisions.push(revision);
    }
    pageToken = body.nextPageToken ?? '';
    if (pageToken === '') break;
  }
  return revisions;
}

/**
 * What a deploy of a revision sets: its source, env vars (in key order) and service account;
 * undefined when the listing did not give its source (then it is compared with nothing).
 */
function contentsOf(revision: WorkflowRevision): string | undefined {
  if (typeof revision.sourceContents !== 'string' || revision.sourceContents === '')
    return undefined;
  const env = Object.entries(revision.userEnvVars ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([revision.sourceContents, env, revision.serviceAccount ?? '']);
}

/**
 * One line per revision, newest first: its id, and after a space the id of the newest older
 * revision it has the contents of (a rollback redeploys an old revision's contents as a new
 * revision, so "the revision before the current one" is then the release rolled back).
 */
export function revisionLines(revisions: readonly WorkflowRevision[]): string[] {
  const contents = revisions.map(contentsOf);
  return revisions.map((revision, i) => {
    const own = contents[i];
    const older = own === undefined ? -1 : contents.indexOf(own, i + 1);
    const copyOf = older === -1 ? undefined : revisions[older]?.revisionId;
    return copyOf === undefined ? `${revision.revisionId}` : `${revision.revisionId} ${copyOf}`;
  });
}

/** Writes one revision's source (and env vars) for `gcloud workflows deploy`; returns its service account. */
export function writeRevisionFiles(dir: string, name: string, revision: WorkflowRevision): string {
  if (typeof revision.sourceContents !== 'string' || revision.sourceContents === '') {
    throw new Error(`revision ${revision.revisionId ?? '?'} of ${name} has no sourceContents`);
  }
  writeFileSync(join(dir, `${name}.workflows.yaml`), revision.sourceContents);
  const env = revision.userEnvVars ?? {};
  if (Object.keys(env).length > 0) {
    writeFileSync(join(dir, `${name}.env.json`), `${JSON.stringify(env, null, 2)}\n`);
  }
  return revision.serviceAccount ?? '';
}

if (import.meta.main) {
  const [command, ...args] = process.argv.slice(2);
  try {
    if (command === 'list' && args[0] !== undefined) {
      const revisions = await listRevisions(
        process.env.WORKFLOWS_API_URL || 'https://workflows.googleapis.com/',
        args[0],
        process.env.WORKFLOWS_ACCESS_TOKEN ?? '',
      );
      process.stdout.write(
        revisionLines(revisions)
          .map((line) => `${line}\n`)
          .join(''),
      );
    } else if (command === 'files' && args[0] !== undefined && args[1] !== undefined) {
      const revision = JSON.parse(await text(process.stdin)) as WorkflowRevision;
      process.stdout.write(`${writeRevisionFiles(args[0], args[1], revision)}\n`);
    } else {
      throw new Error(
        'usage: workflow-revisions.ts list WORKFLOW | files DIR NAME < revision.json',
      );
    }
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
