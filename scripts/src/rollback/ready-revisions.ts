/**
 * Reads `gcloud run revisions list --format=json` on stdin and prints the
 * names of the revisions whose `Ready` condition is `True`, newest first.
 * Used by scripts/rollback: a gcloud `--filter` on the repeated conditions
 * field cannot tie `type=Ready` and `status=True` to the same condition
 * (Knative keeps conditions sorted by type, so `Ready` is not at a fixed index).
 */
import { text } from 'node:stream/consumers';

/** The fields of a Cloud Run (Knative) revision this reads. */
export interface RevisionJson {
  metadata?: { name?: string; creationTimestamp?: string };
  status?: { conditions?: { type?: string; status?: string }[] };
}

/** Names of ready revisions, newest first. */
export function readyRevisions(revisions: RevisionJson[]): string[] {
  return revisions
    .filter((r) => r.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
    .sort((a, b) =>
      (b.metadata?.creationTimestamp ?? '').localeCompare(a.metadata?.creationTimestamp ?? ''),
    )
    .map((r) => r.metadata?.name ?? '')
    .filter((name) => name !== '');
}

if (import.meta.main) {
  const input = await text(process.stdin);
  const names = readyRevisions(JSON.parse(input === '' ? '[]' : input) as RevisionJson[]);
  process.stdout.write(names.map((n) => `${n}\n`).join(''));
}
