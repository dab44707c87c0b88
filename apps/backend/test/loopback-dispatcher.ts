/**
 * The real Cloud Tasks dispatcher as the backend's tests use it: project `p`,
 * location `l`, the two queues and the workflow of a deploy, talking to
 * loopback servers that speak Cloud Tasks (and, for the look-ups, the
 * Workflow Executions API).
 */
import type { TaskDispatcher } from '@slideshow/dispatch';
import { createCloudTasksDispatcher } from '@slideshow/dispatch/cloud-tasks';

/** Tasks go to `apiEndpoint`; executions are looked up at `executionsBaseUrl` when given. */
export function loopbackDispatcher(
  apiEndpoint: string,
  executionsBaseUrl?: string,
): TaskDispatcher {
  return createCloudTasksDispatcher({
    project: 'p',
    location: 'l',
    queues: { uploads: 'image-uploads', ingest: 'image-ingest' },
    workflow: 'process-image',
    serviceAccountEmail: 'tasks@p.iam.gserviceaccount.com',
    apiEndpoint,
    ...(executionsBaseUrl === undefined ? {} : { executionsBaseUrl }),
  });
}
