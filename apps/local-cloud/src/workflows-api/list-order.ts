/**
 * `orderBy` of executions.list
 * (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions/list):
 * "Comma-separated list of fields … By default the ordering is based on
 * descending createTime. The following fields are supported for ordering:
 * executionId, state, createTime, startTime, endTime, duration, and
 * workflowRevisionId" with AIP-132 syntax (`field`, `field desc`).
 */
import { invalidArgument } from '../google-error.ts';
import type { WorkflowExecution } from './store.ts';

type Key = (e: WorkflowExecution) => string | number;

const seconds = (d: string | undefined) => (d === undefined ? -1 : Number.parseFloat(d));

const FIELDS: Record<string, Key> = {
  executionId: (e) => e.name.split('/').pop() ?? '',
  state: (e) => e.state,
  createTime: (e) => e.createTime ?? e.startTime,
  startTime: (e) => e.startTime,
  endTime: (e) => e.endTime ?? '',
  duration: (e) => seconds(e.duration),
  workflowRevisionId: (e) => e.workflowRevisionId,
};

/** Parses `orderBy` into comparators; 400 INVALID_ARGUMENT for an unsupported field or direction. */
function parseOrderBy(orderBy: string): { key: Key; desc: boolean }[] {
  return orderBy.split(',').map((part) => {
    const [field = '', direction, extra] = part.trim().split(/\s+/);
    const key = Object.hasOwn(FIELDS, field) ? FIELDS[field] : undefined;
    if (key === undefined) {
      throw invalidArgument(
        `orderBy: unsupported field ${JSON.stringify(field)} (supported: ${Object.keys(FIELDS).join(', ')})`,
      );
    }
    if (extra !== undefined || (direction !== undefined && !/^(asc|desc)$/i.test(direction))) {
      throw invalidArgument(`orderBy: invalid clause ${JSON.stringify(part.trim())}`);
    }
    return { key, desc: direction?.toLowerCase() === 'desc' };
  });
}

/** Orders executions as `orderBy` says, newest createTime first by default; ties keep the given order. */
export function orderExecutions(
  executions: WorkflowExecution[],
  orderBy: string | null,
): WorkflowExecution[] {
  const clauses =
    orderBy === null || orderBy.trim() === ''
      ? [{ key: FIELDS.createTime as Key, desc: true }]
      : parseOrderBy(orderBy);
  return [...executions].sort((a, b) => {
    for (const { key, desc } of clauses) {
      const x = key(a);
      const y = key(b);
      if (x === y) continue;
      const c = x < y ? -1 : 1;
      return desc ? -c : c;
    }
    return 0;
  });
}
