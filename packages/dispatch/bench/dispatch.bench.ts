/**
 * Dispatch benchmark (`pnpm run bench` here, or the root `npm run bench`):
 * tasks/s through the real `@google-cloud/tasks` client (REST transport) into
 * the loopback fake Cloud Tasks server, against a baseline of plain `fetch`
 * POSTs of the same JSON to the same server in the same run, plus the
 * per-call latency p50/p99 of sequential dispatches, and CPU time per task
 * (client + fake, which is steadier than wall time on a shared machine)
 * against the same baseline. The fake runs in this
 * process, so the figures are a lower bound for a relay talking to
 * local-cloud in another process. Not a test: figures go to
 * bench/results/latest.json.
 */
import { recordFigures } from '@slideshow/tools/bench-results';
import { createCloudTasksDispatcher } from '../src/cloud-tasks.ts';
import { startFakeCloudTasksServer } from '../src/testing/fake-cloud-tasks-server.ts';

const TOTAL = 2000;
const CONCURRENCY = 16;
const SEQUENTIAL = 300;

async function pool(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next;
      next += 1;
      await work(i);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

const fake = await startFakeCloudTasksServer({ recordRequests: false });
const dispatcher = createCloudTasksDispatcher({
  project: 'bench',
  location: 'local',
  queues: { uploads: 'uploads', ingest: 'ingest' },
  workflow: 'process-image',
  serviceAccountEmail: 'bench@bench.iam.gserviceaccount.com',
  apiEndpoint: fake.url,
});
const request = (i: number, run: string) => ({
  imageId: `${run}-${i}`,
  generation: 0,
  queue: 'uploads' as const,
  argument: { file_id: `${run}-${i}`, generation: 0 },
});

try {
  // Warm-up: JIT, proto loading, keep-alive sockets.
  await pool(200, CONCURRENCY, async (i) => {
    await dispatcher.dispatch(request(i, 'warm'));
  });

  // Baseline: the same create request as plain fetch calls, same server, same concurrency.
  const url = `${fake.url}/v2/projects/bench/locations/local/queues/uploads/tasks`;
  let cpu = process.cpuUsage();
  let start = performance.now();
  await pool(TOTAL, CONCURRENCY, async (i) => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        task: { name: `projects/bench/locations/local/queues/uploads/tasks/raw-${i}` },
      }),
    });
    await response.arrayBuffer();
  });
  const rawRate = TOTAL / ((performance.now() - start) / 1000);
  let used = process.cpuUsage(cpu);
  const rawCpuUs = (used.user + used.system) / TOTAL;

  cpu = process.cpuUsage();
  start = performance.now();
  await pool(TOTAL, CONCURRENCY, async (i) => {
    await dispatcher.dispatch(request(i, 'run'));
  });
  const clientRate = TOTAL / ((performance.now() - start) / 1000);
  used = process.cpuUsage(cpu);
  const clientCpuUs = (used.user + used.system) / TOTAL;

  const latencies: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i += 1) {
    const t = performance.now();
    await dispatcher.dispatch(request(i, 'seq'));
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);

  const figures = [
    {
      name: 'dispatch: Cloud Tasks createTask via real client to loopback (16 in flight)',
      value: clientRate,
      unit: 'tasks/s',
      baseline: rawRate,
      target: '>= 1000 tasks/s',
      met: clientRate >= 1000,
    },
    {
      name: 'dispatch: CPU per createTask via real client (client + fake in one process)',
      value: clientCpuUs,
      unit: 'µs',
      baseline: rawCpuUs,
      target: null,
      met: null,
    },
    {
      name: 'dispatch: createTask latency p50 (sequential, loopback)',
      value: percentile(latencies, 50),
      unit: 'ms',
      baseline: null,
      target: null,
      met: null,
    },
    {
      name: 'dispatch: createTask latency p99 (sequential, loopback)',
      value: percentile(latencies, 99),
      unit: 'ms',
      baseline: null,
      target: '< 100 ms',
      met: percentile(latencies, 99) < 100,
    },
  ];
  recordFigures(figures);
  for (const f of figures) {
    process.stdout.write(
      `${f.name}: ${f.value.toFixed(1)} ${f.unit}${f.baseline === null ? '' : ` (plain fetch: ${f.baseline.toFixed(1)})`}\n`,
    );
  }
} finally {
  await dispatcher.close?.();
  await fake.close();
}
