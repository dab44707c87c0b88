/**
 * `orderBy` of executions.list
 * (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions/list):
 * "Comma-separated list of fields … By default the ordering is based on
 * descending createTime. The following fields are supported for ordering:
 * executionId, state, createTime, startTime, endTime, duration, and
 * workflowRevisionId" with AIP-132 syntax (`field`, `field desc`).
 *
 * Each field is an SQL expression over a row `e` of `executions`, so the
 * store sorts and pages in SQL (store.ts `pageExecutions`); ties are broken by
 * the newest row first (`seq` descending), whatever the direction asked.
 * None is NULL: a missing `endTime` sorts as `''`, a missing `duration` as -1.
 */
import { invalidArgument } from '../google-error.ts';

/** One sort key: an SQL expression over `e` and its direction. */
export interface OrderClause {
  sql: string;
  desc: boolean;
}

/** A JSON field of the row's data; NULL (never an error) when the stored JSON cannot be read. */
const json = (path: string) =>
  `CASE WHEN json_valid(e.data) THEN json_extract(e.data, '${path}') END`;

const FIELDS: Record<string, string> = {
  // The name is `<workflow>/executions/<id>`: '/executions/' is 12 characters.
  executionId: 'substr(e.name, length(e.workflow) + 13)',
  state: 'e.state',
  // createTime, or startTime for rows stored before createTime existed (migration 8).
  createTime: 'e.create_time',
  startTime: `COALESCE(${json('$.startTime')}, '')`,
  endTime: `COALESCE(${json('$.endTime')}, '')`,
  duration: `COALESCE(CAST(rtrim(${json('$.duration')}, 's') AS REAL), -1)`,
  workflowRevisionId: `COALESCE(${json('$.workflowRevisionId')}, '')`,
};

/** Newest createTime first: Google's default order, served by the `executions_listing` index. */
export const DEFAULT_ORDER: readonly OrderClause[] = [{ sql: FIELDS.createTime ?? '', desc: true }];

/** Parses `orderBy` into sort keys; 400 INVALID_ARGUMENT for an unsupported field or direction. */
export function parseExecutionOrder(orderBy: string | null): readonly OrderClause[] {
  if (orderBy === null || orderBy.trim() === '') return DEFAULT_ORDER;
  return orderBy.split(',').map((part) => {
    const [field = '', direction, extra] = part.trim().split(/\s+/);
    const sql = Object.hasOwn(FIELDS, field) ? FIELDS[field] : undefined;
    if (sql === undefined) {
      throw invalidArgument(
        `orderBy: unsupported field ${JSON.stringify(field)} (supported: ${Object.keys(FIELDS).join(', ')})`,
      );
    }
    if (extra !== undefined || (direction !== undefined && !/^(asc|desc)$/i.test(direction))) {
      throw invalidArgument(`orderBy: invalid clause ${JSON.stringify(part.trim())}`);
    }
    return { sql, desc: direction?.toLowerCase() === 'desc' };
  });
}
