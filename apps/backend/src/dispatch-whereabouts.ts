/**
 * Where a dispatch is, as far as the pipeline says: the one look-up the
 * reaper (reaper.ts) and the regenerator's lost-dispatch check
 * (regen/lost-dispatches.ts) act on. A dispatch is a Cloud Tasks task named
 * by its key, which, once delivered, is gone and has created a workflow
 * execution carrying the same key as its `dispatch_key` label:
 *
 * - the task still exists (`tasks.get`): it has not created its execution
 *   yet — waiting its turn in a throttled queue (`dispatchCount` 0),
 *   scheduled for later, or being retried by Cloud Tasks: `waiting`;
 * - the task is gone and its execution is ACTIVE or QUEUED: `running`;
 * - the task is gone and its execution ended (SUCCEEDED, FAILED, CANCELLED)
 *   or none is known (dropped by Cloud Tasks, lost by an emulator): `gone`;
 * - a look-up failed (Cloud Tasks or the Executions API unreachable, a
 *   missing permission), or the execution is in a state that says neither
 *   (UNAVAILABLE, one added later): `unknown` — acting without knowing would
 *   fail work that is only waiting, so callers leave it for their next pass.
 */
import type { ExecutionState, QueueName, TaskDispatcher } from '@slideshow/dispatch';
import { AppError, coerceError } from '@slideshow/runtime';

/** The dispatcher's look-ups (an adapter without a queue has no `taskState`). */
export type DispatchLookups = Pick<TaskDispatcher, 'taskState' | 'executionState'>;

/** Where a dispatch is. */
export type Whereabouts =
  | { kind: 'waiting'; dispatchCount: number }
  | { kind: 'running'; execution: ExecutionState }
  | { kind: 'gone'; execution?: ExecutionState }
  | { kind: 'unknown'; error: AppError };

/** Execution states of a workflow that may still report (Workflows `Execution.State`). */
const LIVE_EXECUTION_STATES = new Set(['ACTIVE', 'QUEUED']);
/**
 * Execution states that are over. Any other (`UNAVAILABLE`: "execution data is
 * unavailable", `STATE_UNSPECIFIED`, a state added later) says nothing of
 * whether it still runs, so it counts as a failed look-up, never as gone.
 */
const ENDED_EXECUTION_STATES = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Where the dispatch `key` on `queue` is: waiting in its queue, running, gone, or unknown. */
async function locateDispatch(
  dispatcher: DispatchLookups,
  key: string,
  queue: QueueName,
): Promise<Whereabouts> {
  try {
    const task = await dispatcher.taskState?.(key, queue);
    if (task !== undefined) return { kind: 'waiting', dispatchCount: task.dispatchCount };
    const execution = await dispatcher.executionState?.(key);
    if (execution === undefined) return { kind: 'gone' };
    if (LIVE_EXECUTION_STATES.has(execution.state)) return { kind: 'running', execution };
    if (ENDED_EXECUTION_STATES.has(execution.state)) return { kind: 'gone', execution };
    return {
      kind: 'unknown',
      error: new AppError(
        'INTERNAL',
        `workflow execution ${execution.name} is ${execution.state}: not known to be running or over`,
      ),
    };
  } catch (error) {
    return { kind: 'unknown', error: coerceError(error) };
  }
}

/** One pass's look-ups: each dispatch key looked up once (a batch's members share it). */
export interface PassLookups {
  /** Where the dispatch `key` on `queue` is; the same promise for a key already asked. */
  locate(key: string, queue: QueueName): Promise<Whereabouts>;
  /** The distinct errors of the failed look-ups (at most five), for one ERROR line per pass. */
  errors(): Promise<string[]>;
}

/** Starts a pass's look-ups through `dispatcher`. */
export function passLookups(dispatcher: DispatchLookups): PassLookups {
  const byKey = new Map<string, Promise<Whereabouts>>();
  return {
    locate(key, queue) {
      let found = byKey.get(key);
      if (found === undefined) {
        found = locateDispatch(dispatcher, key, queue);
        byKey.set(key, found);
      }
      return found;
    },
    async errors() {
      const errors = new Set<string>();
      for (const where of await Promise.all(byKey.values())) {
        if (where.kind === 'unknown') errors.add(`${where.error.code}: ${where.error.message}`);
      }
      return [...errors].slice(0, 5);
    },
  };
}
