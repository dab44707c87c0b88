/**
 * executions.list, paged in SQL (AIP-158): rows are read in the requested
 * order after the position the page token holds (the sort keys and `seq` of
 * the last execution returned, never an offset), a page at a time. The
 * filter's top-level `state="X"` and `labels.K="V"` terms are applied in SQL
 * on indexes; the rest of the filter is applied to the rows read, in bounded
 * batches, until the page is full or `SCAN_BUDGET` rows were read
 * (paging.ts `keysetPage`), so no one call reads all history.
 */
import { coerceError } from '@slideshow/runtime';
import { invalidArgument } from '../google-error.ts';
import { keysetPage, pageSizeOf } from '../paging.ts';
import { parseExecutionFilter } from './list-filter.ts';
import { parseExecutionOrder } from './list-order.ts';
import type { ExecutionsCursor, WorkflowExecution, WorkflowsStore } from './store.ts';

/** "The default value used if the field is not specified is 100" (executions.list pageSize). */
const DEFAULT_PAGE_SIZE = 100;
/** Largest page served, for either view (Google: 1,000 for BASIC, 100 for FULL). */
const MAX_PAGE_SIZE = 1000;

/** One page of executions and the token for the next, if any. */
export interface ExecutionsPage {
  executions: WorkflowExecution[];
  nextPageToken?: string;
}

function encodeToken(cursor: ExecutionsCursor): string {
  return Buffer.from(JSON.stringify([...cursor.keys, cursor.seq]), 'utf8').toString('base64url');
}

/** The cursor a page token holds; 400 INVALID_ARGUMENT for one this order did not produce. */
function decodeToken(token: string, keys: number): ExecutionsCursor {
  let values: unknown;
  try {
    values = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch (error) {
    throw invalidArgument(`Invalid page token: ${coerceError(error).message}`);
  }
  if (
    !Array.isArray(values) ||
    values.length !== keys + 1 ||
    !Number.isInteger(values[keys]) ||
    !values.every((v) => typeof v === 'string' || typeof v === 'number')
  ) {
    throw invalidArgument('Invalid page token.');
  }
  return { keys: values.slice(0, keys) as (string | number)[], seq: values[keys] as number };
}

/** Lists a workflow's executions as the request's filter, orderBy, pageSize and pageToken say. */
export function listExecutionsPage(
  store: WorkflowsStore,
  workflow: string,
  query: URLSearchParams,
): ExecutionsPage {
  const size = pageSizeOf(query, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const { keep, pushdown } = parseExecutionFilter(query.get('filter'));
  const order = parseExecutionOrder(query.get('orderBy'));
  const token = query.get('pageToken') ?? query.get('page_token') ?? '';
  const page = keysetPage<WorkflowExecution, ExecutionsCursor>(
    (after, limit) =>
      store
        .pageExecutions({
          workflow,
          order,
          states: pushdown.states,
          labels: pushdown.labels,
          limit,
          ...(after === undefined ? {} : { after }),
        })
        .map((row) => ({ item: row.execution, cursor: row.cursor })),
    size,
    token === '' ? undefined : decodeToken(token, order.length),
    encodeToken,
    keep,
  );
  return page.nextPageToken === undefined
    ? { executions: page.items }
    : { executions: page.items, nextPageToken: page.nextPageToken };
}
