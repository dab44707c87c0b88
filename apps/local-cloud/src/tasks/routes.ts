/**
 * Cloud Tasks v2 REST surface
 * (https://cloud.google.com/tasks/docs/reference/rest/v2/projects.locations.queues and
 * …/projects.locations.queues.tasks), including `queues.patch` creating a
 * missing queue, which is how gcloud creates queues. A deleted queue's name
 * cannot be used again for a while (model.ts TASKS_RULES), by either route.
 */
import { randomInt } from 'node:crypto';
import { ApiError, invalidArgument, notFound } from '../google-error.ts';
import type { OutboundPolicy } from '../outbound-policy.ts';
import { paginate } from '../paging.ts';
import type { Router } from '../router.ts';
import type { TaskScheduler } from './dispatcher.ts';
import {
  normalizeQueue,
  patchQueue,
  type Queue,
  readView,
  TASKS_RULES,
  type TasksRules,
  taskView,
} from './model.ts';
import { normalizeNewTask } from './new-task.ts';
import type { TasksStore } from './store.ts';

const QUEUE_ID = /^[A-Za-z0-9-]{1,100}$/;
const Q = '/v2/projects/{project}/locations/{location}/queues';

/** What the Cloud Tasks routes work with. */
export interface TasksRoutesDeps {
  store: TasksStore;
  dispatcher: () => TaskScheduler;
  outbound: OutboundPolicy;
  rules?: TasksRules;
  now?: () => number;
}

/** Names and look-ups shared by the queue and the task routes. */
interface TasksRouteHelpers {
  now: () => number;
  parentOf(p: Record<string, string>): string;
  queueName(p: Record<string, string>): string;
  mustQueue(name: string): Queue;
}

/**
 * A v2beta3 queue as `queues.get` answers with `readMask` (every field but
 * `stats` without one). `executedLastMinuteCount` is not kept here and is left out.
 */
function maskedQueue(
  queue: Queue,
  mask: string[],
  stats: () => ReturnType<TasksStore['queueStats']>,
): Record<string, unknown> {
  const full: Record<string, unknown> = { ...queue };
  if (mask.length === 0) return full;
  if (mask.includes('stats')) {
    const s = stats();
    full.stats = {
      tasksCount: String(s.tasks),
      concurrentDispatchesCount: String(s.inFlight),
      effectiveExecutionRate:
        queue.state === 'RUNNING' ? queue.rateLimits.maxDispatchesPerSecond : 0,
      ...(s.nextScheduleMs === null
        ? {}
        : { oldestEstimatedArrivalTime: new Date(s.nextScheduleMs).toISOString() }),
    };
  }
  const body: Record<string, unknown> = {};
  for (const field of mask) if (field in full) body[field] = full[field];
  return body;
}

/** Registers the Cloud Tasks routes. */
export function registerTasksRoutes(router: Router, deps: TasksRoutesDeps): void {
  const now = deps.now ?? Date.now;
  const parentOf = (p: Record<string, string>) => `projects/${p.project}/locations/${p.location}`;
  const queueName = (p: Record<string, string>) => `${parentOf(p)}/queues/${p.queue}`;
  const mustQueue = (name: string): Queue => {
    const q = deps.store.getQueue(name);
    if (!q) throw notFound('Queue', name);
    return q;
  };
  const helpers: TasksRouteHelpers = { now, parentOf, queueName, mustQueue };
  registerQueueRoutes(router, deps, helpers);
  registerTaskRoutes(router, deps, helpers);
}

/** Locations and queues: create, list, get (v2 and v2beta3 with stats), patch, delete, pause, resume, purge. */
function registerQueueRoutes(
  router: Router,
  deps: TasksRoutesDeps,
  { now, parentOf, queueName, mustQueue }: TasksRouteHelpers,
): void {
  const { store, dispatcher } = deps;
  /** Google's refusal of a name deleted too recently (its wording, FAILED_PRECONDITION). */
  const refuseRecentlyDeleted = (name: string) => {
    if (store.isQueueTombstoned(name, now())) {
      throw new ApiError(
        'FAILED_PRECONDITION',
        'The queue cannot be created because a queue with this name existed too recently.',
      );
    }
  };
  const setState = (name: string, state: Queue['state']) => {
    const q = mustQueue(name);
    q.state = state;
    store.putQueue(q);
    dispatcher().kick();
    return { body: q };
  };

  router.add('GET', '/v2/projects/{project}/locations', (req) => ({
    body: {
      locations: [
        {
          name: `projects/${req.params.project}/locations/us-central1`,
          locationId: 'us-central1',
        },
      ],
    },
  }));
  router.add('GET', '/v2/projects/{project}/locations/{location}', (req) => ({
    body: { name: parentOf(req.params), locationId: req.params.location },
  }));

  router.add('POST', Q, (req) => {
    const input = (req.body ?? {}) as Record<string, unknown>;
    const name = typeof input.name === 'string' ? input.name : '';
    const prefix = `${parentOf(req.params)}/queues/`;
    if (!name.startsWith(prefix) || !QUEUE_ID.test(name.slice(prefix.length))) {
      throw invalidArgument(`Queue name must be ${prefix}QUEUE_ID: ${name}`);
    }
    if (store.getQueue(name)) throw new ApiError('ALREADY_EXISTS', 'Queue already exists');
    refuseRecentlyDeleted(name);
    const queue = normalizeQueue(name, input);
    store.putQueue(queue);
    dispatcher().kick();
    return { body: queue };
  });
  router.add('GET', Q, (req) => {
    const page = paginate(store.listQueues(parentOf(req.params)), req.query);
    return { body: { queues: page.items, nextPageToken: page.nextPageToken } };
  });
  router.add('GET', `${Q}/{queue}`, (req) => ({ body: mustQueue(queueName(req.params)) }));
  // v2beta3 `queues.get` for its `stats` (not in v2): the QueueAdmin reads them with
  // `readMask=name,state,stats`; without a mask every field but `stats` is returned
  // (https://cloud.google.com/tasks/docs/reference/rest/v2beta3/projects.locations.queues/get).
  router.add('GET', '/v2beta3/projects/{project}/locations/{location}/queues/{queue}', (req) => {
    const queue = mustQueue(queueName(req.params));
    const mask = (req.query.get('readMask') ?? req.query.get('read_mask') ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    return { body: maskedQueue(queue, mask, () => store.queueStats(queue.name)) };
  });
  router.add('PATCH', `${Q}/{queue}`, (req) => {
    const name = queueName(req.params);
    if (!QUEUE_ID.test(req.params.queue ?? '')) throw invalidArgument(`Invalid queue id: ${name}`);
    const existing = store.getQueue(name);
    if (!existing) refuseRecentlyDeleted(name);
    const mask = req.query.get('updateMask') ?? req.query.get('update_mask');
    // "This method creates the queue if it does not exist and updates the queue if it does exist."
    const queue = existing
      ? patchQueue(existing, req.body, mask)
      : patchQueue(normalizeQueue(name, {}), req.body, mask);
    store.putQueue(queue);
    dispatcher().kick();
    return { body: queue };
  });
  router.add('DELETE', `${Q}/{queue}`, (req) => {
    const name = queueName(req.params);
    mustQueue(name);
    store.deleteQueue(name, now());
    return { body: {} };
  });
  router.add('POST', `${Q}/{queue}:pause`, (req) => setState(queueName(req.params), 'PAUSED'));
  router.add('POST', `${Q}/{queue}:resume`, (req) => setState(queueName(req.params), 'RUNNING'));
  router.add('POST', `${Q}/{queue}:purge`, (req) => {
    const name = queueName(req.params);
    const q = mustQueue(name);
    store.purgeQueue(name, now());
    q.purgeTime = new Date(now()).toISOString();
    store.putQueue(q);
    return { body: q };
  });
}

/** Tasks: create, list, get, delete, run. */
function registerTaskRoutes(
  router: Router,
  deps: TasksRoutesDeps,
  { now, queueName, mustQueue }: TasksRouteHelpers,
): void {
  const { store, dispatcher, outbound } = deps;
  const rules = deps.rules ?? TASKS_RULES;
  const taskName = (p: Record<string, string>) => `${queueName(p)}/tasks/${p.task}`;
  const mustTask = (name: string) => {
    const row = store.getTask(name);
    if (!row) throw notFound('Task', name);
    return row;
  };

  router.add('POST', `${Q}/{queue}/tasks`, (req) => {
    const queue = mustQueue(queueName(req.params));
    const t = now();
    const generated = `${Date.now()}${String(randomInt(1e9)).padStart(9, '0')}`;
    const task = normalizeNewTask(
      queue.name,
      (req.body.task ?? {}) as Record<string, unknown>,
      generated,
      t,
      rules,
    );
    const refused = outbound.refusal(task.httpRequest.url);
    if (refused !== undefined) throw new ApiError('PERMISSION_DENIED', refused);
    if (store.getTask(task.name) || store.isTombstoned(task.name, t)) {
      throw new ApiError('ALREADY_EXISTS', 'Requested entity already exists');
    }
    store.insertTask(queue.name, task, Date.parse(task.scheduleTime));
    dispatcher().kick();
    return { body: taskView(task, readView(req.body.responseView)) };
  });
  router.add('GET', `${Q}/{queue}/tasks`, (req) => {
    const queue = mustQueue(queueName(req.params));
    const view = readView(req.query.get('responseView') ?? undefined);
    const page = paginate(store.listTasks(queue.name), req.query);
    return {
      body: { tasks: page.items.map((t) => taskView(t, view)), nextPageToken: page.nextPageToken },
    };
  });
  router.add('GET', `${Q}/{queue}/tasks/{task}`, (req) => {
    const row = mustTask(taskName(req.params));
    return { body: taskView(row.task, readView(req.query.get('responseView') ?? undefined)) };
  });
  router.add('DELETE', `${Q}/{queue}/tasks/{task}`, (req) => {
    const name = taskName(req.params);
    mustTask(name);
    store.finishTask(name, now());
    return { body: {} };
  });
  router.add('POST', `${Q}/{queue}/tasks/{task}:run`, async (req) => {
    const name = taskName(req.params);
    const row = mustTask(name);
    // "The dispatched task is returned": dispatchCount and lastAttempt as the request leaves.
    const dispatched = dispatcher().runNow(name) ?? row.task;
    return { body: taskView(dispatched, readView(req.body.responseView)) };
  });
}
