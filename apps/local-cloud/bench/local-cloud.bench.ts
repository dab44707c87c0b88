/**
 * local-cloud burst benchmark (`pnpm run bench` here, or the root
 * `npm run bench`): 1,000 tasks created over HTTP into one queue limited to
 * RATE dispatches/s, delivered to a loopback target. local-cloud runs as its
 * own process (src/main.ts), as in the local stack. Figures: task creation
 * throughput (baseline: plain GETs of the queue in the same run, the HTTP
 * floor of this machine), local-cloud's own CPU time per created task (from
 * /proc, so it does not depend on what else the machine runs), the observed
 * dispatch rate against the configured one (the token bucket allows one
 * initial burst), and tasks lost or delivered twice (both must be 0).
 * Not a test: figures go to bench/results/latest.json.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatFigures, recordFigures } from '@slideshow/tools/bench-results';
import { hostEnvironment } from '../src/config.ts';
import { defaultBurst } from '../src/tasks/token-bucket.ts';

const TOTAL = 1000;
const RATE = 100;
const CONCURRENCY = 16;
const PARENT = 'projects/bench/locations/us-central1';

const deliveries = new Map<string, number>();
const deliveryTimes: number[] = [];
const target = createServer((req, res) => {
  const name = String(req.headers['x-cloudtasks-taskname']);
  deliveries.set(name, (deliveries.get(name) ?? 0) + 1);
  deliveryTimes.push(performance.now());
  req.resume();
  req.on('end', () => res.writeHead(200).end());
});
await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/task`;

const dir = mkdtempSync(join(tmpdir(), 'local-cloud-bench-'));
const child = spawn(process.execPath, [resolve(import.meta.dirname, '../src/main.ts')], {
  env: { PATH: hostEnvironment().PATH, LOCAL_CLOUD_PORT: '0', LOCAL_CLOUD_DATA_DIR: dir },
  stdio: ['ignore', 'ignore', 'pipe'],
});
const cloud = {
  url: await new Promise<string>((resolveUrl, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      const entry = JSON.parse(line) as { message?: string; url?: string };
      if (entry.message === 'local-cloud ready' && entry.url) resolveUrl(entry.url);
    });
    child.once('exit', (code) => reject(new Error(`local-cloud exited with ${code}`)));
  }),
};
/** Every call carries local-cloud's token, as in real use (it is part of the measured cost). */
const auth = { authorization: `Bearer ${readFileSync(join(dir, 'local-cloud.token'), 'utf8')}` };

/** CPU seconds (user + system) local-cloud has used, from /proc/PID/stat (clock ticks of 1/100 s). */
function cloudCpuSeconds(): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const queue = `${PARENT}/queues/burst`;

async function post(path: string, body: unknown): Promise<void> {
  const res = await fetch(`${cloud.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

try {
  await post(`/v2/${PARENT}/queues`, {
    name: queue,
    rateLimits: { maxDispatchesPerSecond: RATE, maxConcurrentDispatches: 100 },
  });
  // Paused while creating, so creation throughput and dispatch rate are measured apart.
  await post(`/v2/${queue}:pause`, {});
  // Baseline in the same run: the same number of plain GETs of the queue (HTTP + routing floor).
  const getStart = performance.now();
  let gets = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (gets < TOTAL) {
        gets++;
        const res = await fetch(`${cloud.url}/v2/${queue}`, { headers: auth });
        await res.arrayBuffer();
      }
    }),
  );
  const getRate = TOTAL / ((performance.now() - getStart) / 1000);
  const cpuBefore = cloudCpuSeconds();
  const createStart = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < TOTAL) {
        const i = next++;
        await post(`/v2/${queue}/tasks`, {
          task: {
            name: `${queue}/tasks/burst-${i}`,
            httpRequest: { url: targetUrl, body: Buffer.from(`{"i":${i}}`).toString('base64') },
          },
        });
      }
    }),
  );
  const createSeconds = (performance.now() - createStart) / 1000;
  const cpuMsPerCreate = ((cloudCpuSeconds() - cpuBefore) * 1000) / TOTAL;
  const resumedAt = performance.now();
  await post(`/v2/${queue}:resume`, {});
  const deadline = Date.now() + 120_000;
  while (deliveryTimes.length < TOTAL && Date.now() < deadline) await sleep(50);
  await sleep(500); // let any duplicate arrive before counting
  const last = deliveryTimes.at(-1) ?? 0;
  const burst = defaultBurst(RATE);
  // A token bucket allows at most burst + RATE × t dispatches t seconds after the
  // resume, so beyond the initial burst the tasks can go no faster than RATE.
  const observedRate = (deliveryTimes.length - burst) / ((last - resumedAt) / 1000);
  const lost = TOTAL - deliveries.size;
  const duplicated = [...deliveries.values()].reduce((n, c) => n + (c - 1), 0);
  const figures = [
    {
      name: 'local-cloud: tasks created per second (HTTP, 16 concurrent)',
      value: TOTAL / createSeconds,
      unit: 'tasks/s',
      baseline: getRate,
      target: '>= 1000 tasks/s (the relay rate target)',
      met: TOTAL / createSeconds >= 1000,
    },
    {
      name: 'local-cloud: its own CPU time per created task',
      value: cpuMsPerCreate,
      unit: 'ms',
      baseline: null,
      target: '<= 1 ms (1,000 tasks/s on one core)',
      met: cpuMsPerCreate <= 1,
    },
    {
      name: `local-cloud: 1,000-task burst dispatch rate (queue at ${RATE}/s)`,
      value: observedRate,
      unit: '/s',
      baseline: RATE,
      target: `<= ${RATE}/s (+2%)`,
      met: observedRate <= RATE * 1.02,
    },
    {
      name: 'local-cloud: 1,000-task burst tasks lost',
      value: lost,
      unit: 'tasks',
      baseline: null,
      target: '= 0',
      met: lost === 0,
    },
    {
      name: 'local-cloud: 1,000-task burst tasks delivered twice',
      value: duplicated,
      unit: 'tasks',
      baseline: null,
      target: '= 0',
      met: duplicated === 0,
    },
  ];
  recordFigures(figures);
  process.stdout.write(`${formatFigures(figures)}\n`);
} finally {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  await new Promise<void>((resolve) => target.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
}
