/**
 * A loopback stand-in for the Workflows v1 API's
 * `GET /v1/projects/P/locations/L/workflows/W:listRevisions`, speaking its
 * wire shape (https://cloud.google.com/workflows/docs/reference/rest/v1/projects.locations.workflows/listRevisions):
 * `{workflows: [...newest first], nextPageToken}`, `pageSize` and
 * `pageToken`, 401 without a bearer token, 404 for an unknown workflow.
 * Only what scripts/rollback reads; the real gcloud against local-cloud is
 * exercised by local-cloud.shared-test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running fake. */
export interface RevisionsServer {
  /** Base URL with a trailing slash, as gcloud's api_endpoint_overrides/workflows. */
  url: string;
  /** The Authorization header of every request. */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

/** A revision the fake lists: its id, or the Workflow fields it has (sourceContents, …). */
export type ListedRevision = string | { revisionId: string; [field: string]: unknown };

/** Serves `revisions[workflow resource name]` (newest first); `pageSizeCap` forces paging. */
export async function startRevisionsServer(
  revisions: Record<string, ListedRevision[]>,
  pageSizeCap = 100,
): Promise<RevisionsServer> {
  const authorizations: (string | undefined)[] = [];
  const server: Server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const m = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+\/workflows\/[^/:]+):listRevisions$/.exec(
      url.pathname,
    );
    if (req.method !== 'GET' || !m?.[1]) {
      send(404, { error: { code: 404, message: 'not found', status: 'NOT_FOUND' } });
      return;
    }
    if (!req.headers.authorization?.startsWith('Bearer ')) {
      send(401, { error: { code: 401, message: 'missing credential', status: 'UNAUTHENTICATED' } });
      return;
    }
    const ids = revisions[m[1]];
    if (ids === undefined) {
      send(404, {
        error: { code: 404, message: `Resource '${m[1]}' was not found`, status: 'NOT_FOUND' },
      });
      return;
    }
    const size = Math.min(Number(url.searchParams.get('pageSize') ?? 20) || 20, pageSizeCap);
    const start = Number(url.searchParams.get('pageToken') ?? 0) || 0;
    const page = ids.slice(start, start + size);
    const next = start + size < ids.length ? String(start + size) : undefined;
    send(200, {
      workflows: page.map((r) =>
        typeof r === 'string' ? { name: m[1], revisionId: r } : { name: m[1], ...r },
      ),
      ...(next === undefined ? {} : { nextPageToken: next }),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    authorizations,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
