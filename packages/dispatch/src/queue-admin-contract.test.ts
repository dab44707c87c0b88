import { createCloudTasksDispatcher } from './cloud-tasks.ts';
import { createCloudTasksQueueAdmin } from './cloud-tasks-queue-admin.ts';
import { createDryRunQueueAdmin } from './dry-run-queue-admin.ts';
import { taskNameFor } from './task-dispatcher.ts';
import { startFakeCloudTasksServer } from './testing/fake-cloud-tasks-server.ts';
import { describeQueueAdminContract } from './testing/queue-admin-contract.ts';

describeQueueAdminContract('the dry-run queue admin', async () => {
  const admin = createDryRunQueueAdmin();
  return {
    admin,
    teardown: async () => {},
  };
});

describeQueueAdminContract('the Cloud Tasks queue admin', async () => {
  const fake = await startFakeCloudTasksServer();
  const queues = { uploads: 'image-uploads', ingest: 'image-ingest' };
  const dispatcher = createCloudTasksDispatcher({
    project: 'p',
    location: 'l',
    queues,
    workflow: 'w',
    serviceAccountEmail: 'sa@p.iam.gserviceaccount.com',
    apiEndpoint: fake.url,
  });
  let n = 0;
  return {
    admin: createCloudTasksQueueAdmin({
      project: 'p',
      location: 'l',
      queues,
      apiEndpoint: fake.url,
    }),
    enqueue: async (queue) => {
      n += 1;
      await dispatcher.dispatch({
        key: taskNameFor(`img-${n}`, 0),
        queue,
        argument: { file_id: `img-${n}`, generation: 0 },
      });
    },
    teardown: async () => {
      await dispatcher.close?.();
      await fake.close();
    },
  };
});
