/**
 * `npm start`: the whole pipeline on this machine. Starts local-cloud and the
 * backend, provisions queues, workflows and the processor job, uploads a few
 * sample images the project generates, waits for them, and prints where to
 * look. Ctrl-C stops every process it started; a second run reuses .data/ and
 * resumes unfinished work.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalStack } from './local-stack.ts';
import { makeSampleImages } from './sample-images.ts';
import { repoRoot } from './shared-dir.ts';

const say = (line = '') => process.stderr.write(`${line}\n`);

interface ImageView {
  id: string;
  status: string;
}

async function main(): Promise<void> {
  const dataDir = resolve(repoRoot, process.env.DATA_DIR ?? '.data');
  say(`Starting the local stack (state in ${dataDir}) …`);
  const stack = await startLocalStack({
    dataDir,
    localCloudPort: Number(process.env.LOCAL_CLOUD_PORT ?? 8123),
    backendPort: Number(process.env.PORT ?? 8080),
    echo: (name, line) => {
      // Full logs are in .data/logs; show only warnings and errors here.
      if (/"severity":"(WARNING|ERROR)"/.test(line)) say(`[${name}] ${line}`);
    },
  });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping local-cloud and the backend …`);
    await stack.stop();
    say('Stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  say('Uploading sample images (generated here) …');
  const samples = await makeSampleImages(5);
  const form = new FormData();
  for (const sample of samples)
    form.append('file', new Blob([new Uint8Array(sample.bytes)]), sample.name);
  const response = await stack.admin('/api/admin/upload', { method: 'POST', body: form });
  const body = (await response.json()) as { images?: (ImageView & { duplicate?: boolean })[] };
  if (!response.ok || !body.images)
    throw new Error(`upload failed: HTTP ${response.status} ${JSON.stringify(body)}`);
  const ids = body.images.map((image) => image.id);
  const duplicates = body.images.filter((image) => image.duplicate).length;
  say(
    `  ${ids.length} accepted${duplicates ? ` (${duplicates} already known from an earlier run)` : ''}`,
  );

  const deadline = Date.now() + 10 * 60_000;
  let last = '';
  for (;;) {
    const states = await Promise.all(
      ids.map(async (id) => {
        const r = await stack.admin(`/api/images/${id}`);
        return r.ok ? ((await r.json()) as ImageView).status : 'unknown';
      }),
    );
    const counts: Record<string, number> = {};
    for (const s of states) counts[s] = (counts[s] ?? 0) + 1;
    const line = Object.entries(counts)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ');
    if (line !== last) say(`  ${line}`);
    last = line;
    if (states.every((s) => s === 'processed' || s === 'failed')) break;
    if (Date.now() > deadline) {
      say('  still working after 10 minutes; the stack keeps running');
      break;
    }
    await sleep(500);
  }

  const db = resolve(dataDir, 'slideshow.db');
  say(`
The pipeline is running.
  Slideshow         ${stack.backendUrl}/
  Admin             ${stack.backendUrl}/admin   (password: ${stack.adminPassword})
  Status            ${stack.backendUrl}/status
  Admin API token   ${stack.adminToken}   (Authorization: Bearer …)
  Emulated cloud    ${stack.localCloudUrl}   resources under ${stack.parent}
  Failed tasks      sqlite3 ${db} "SELECT image_id, error_code, error_message, attempt_count, source FROM failed_tasks"
  gcloud            export CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS=${stack.localCloudUrl}/ \\
                      CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWS=${stack.localCloudUrl}/ \\
                      CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWEXECUTIONS=${stack.localCloudUrl}/ \\
                      CLOUDSDK_AUTH_ACCESS_TOKEN_FILE=${stack.localCloudTokenFile} CLOUDSDK_CORE_PROJECT=${stack.projectId}
                    gcloud tasks queues list --location=${stack.location}
                    gcloud workflows executions list process-image --location=${stack.location}
  Logs              ${resolve(dataDir, 'logs')}
Press Ctrl-C to stop.`);
  await new Promise(() => {});
}

main().catch((error: unknown) => {
  say(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
