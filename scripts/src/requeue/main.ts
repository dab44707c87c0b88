/**
 * Entry point of scripts/requeue-failed: lists failed tasks through the admin
 * API and re-queues them. Exit status: 0 when every selected image was
 * re-queued (or on a dry run, or when --check found the options valid), 1
 * when any failed, 2 on bad usage.
 */
import { coerceError } from '@slideshow/runtime';
import { createAdminClient, sayRetrying } from './admin-client.ts';
import { loadConfig, USAGE } from './config.ts';
import { createProgress } from './progress.ts';
import { formatSummary, requeueFailed } from './requeue.ts';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(argv);
  } catch (error) {
    console.error(`error: ${coerceError(error).message}\n${USAGE}`);
    return 2;
  }
  if (config.check) return 0;
  try {
    const summary = await requeueFailed({
      client: createAdminClient({
        baseUrl: config.backendUrl,
        token: config.token,
        onRetry: sayRetrying((line) => console.error(line)),
      }),
      filter: { since: config.since, code: config.code },
      dryRun: config.dryRun,
      includePermanent: config.includePermanent,
      includeMissingOriginals: config.includeMissingOriginals,
      concurrency: config.concurrency,
      progress: (total) => createProgress({ total, stream: process.stderr }),
    });
    console.log(formatSummary(summary, config.dryRun));
    return summary.failures.length === 0 ? 0 : 1;
  } catch (error) {
    const e = coerceError(error);
    console.error(`error: ${e.code}: ${e.message}`);
    return 1;
  }
}

process.exitCode = await main();
