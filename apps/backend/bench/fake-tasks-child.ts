/**
 * Child process of backend.bench.ts: the loopback Cloud Tasks server from
 * @slideshow/dispatch in its own process (as local-cloud would be), so the
 * relay being measured does not share its event loop. Sends its URL over IPC;
 * exits on `stop`.
 */
import { startFakeCloudTasksServer } from '@slideshow/dispatch/testing/fake-cloud-tasks';

const fake = await startFakeCloudTasksServer({ recordRequests: false });
process.on('message', async (message: { type: string }) => {
  if (message.type === 'count') process.send?.({ type: 'count', created: fake.createdCount });
  if (message.type === 'stop') {
    await fake.close();
    process.exit(0);
  }
});
process.send?.({ type: 'ready', url: fake.url });
