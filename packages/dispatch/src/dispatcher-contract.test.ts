import { createCloudTasksDispatcher } from './cloud-tasks.ts';
import { createDryRunDispatcher } from './dry-run.ts';
import { describeTaskDispatcherContract } from './testing/dispatcher-contract.ts';
import { startFakeCloudTasksServer } from './testing/fake-cloud-tasks-server.ts';
import { startFakeWorkflowExecutionsServer } from './testing/fake-workflow-executions-server.ts';
import { createWorkflowsDispatcher } from './workflows.ts';

describeTaskDispatcherContract('the dry-run dispatcher', async () => ({
  dispatcher: createDryRunDispatcher(),
  teardown: async () => {},
}));

describeTaskDispatcherContract('the Cloud Tasks dispatcher', async () => {
  const fake = await startFakeCloudTasksServer();
  return {
    dispatcher: createCloudTasksDispatcher({
      project: 'p',
      location: 'l',
      queues: { uploads: 'uploads', ingest: 'ingest' },
      workflow: 'w',
      serviceAccountEmail: 'sa@p.iam.gserviceaccount.com',
      apiEndpoint: fake.url,
    }),
    teardown: () => fake.close(),
  };
});

describeTaskDispatcherContract('the Workflows dispatcher', async () => {
  const fake = await startFakeWorkflowExecutionsServer();
  return {
    dispatcher: createWorkflowsDispatcher({
      project: 'p',
      location: 'l',
      workflow: 'w',
      apiEndpoint: fake.url,
    }),
    teardown: () => fake.close(),
  };
});
