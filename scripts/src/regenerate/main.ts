/**
 * Entry point of scripts/regenerate: a dry run (count, estimated CPU-seconds
 * and list-price cost), a run started, paused, resumed or cancelled, and its
 * progress — all through `/api/admin/regenerate` (BACKEND_URL, ADMIN_TOKEN),
 * with requeue-failed's admin client and its retry policy (a 503 during a
 * handover or an unreachable backend is retried for a while).
 * Exit status: 0 done, 1 the backend refused, failed or could not be reached,
 * 2 bad usage (checked here before any request: options, dates, visibility,
 * run ids, BACKEND_URL and ADMIN_TOKEN).
 */
import { parseArgs } from 'node:util';
import { RegenRunAnswer } from '@slideshow/contracts';
import { coerceError } from '@slideshow/runtime';
import { parseIsoTime } from '../iso-time.ts';
import { createAdminClient, readAdminEnv, sayRetrying } from '../requeue/admin-client.ts';

/** How to call it. */
export const USAGE = `usage: scripts/regenerate [--dry-run] [--ids A,B] [--from ISO] [--to ISO]
                          [--visibility published|hidden] [--max-executions N]
       scripts/regenerate status [RUN] | pause RUN | resume RUN | cancel RUN
--from/--to: ISO 8601 with an offset or Z, e.g. 2026-11-22T10:00:00Z
pause/cancel stop what was not dispatched; stderr says how many images were
  dispatched already and will still be made (and billed)
environment: BACKEND_URL, ADMIN_TOKEN`;

const VISIBILITIES = ['published', 'hidden'];
const RUN_ID = /^[1-9][0-9]*$/;

/** The request a command line makes: method, path and body. Throws on bad usage. */
export function requestFor(argv: string[]): {
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
} {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      ids: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      visibility: { type: 'string' },
      'max-executions': { type: 'string' },
    },
  });
  const [command, run] = positionals;
  if (command === 'status') {
    if (run !== undefined && !RUN_ID.test(run))
      throw new Error(`status takes a run id, not ${run}`);
    return { method: 'GET', path: run ? `/api/admin/regenerate/${run}` : '/api/admin/regenerate' };
  }
  if (command === 'pause' || command === 'resume' || command === 'cancel') {
    if (!run || !RUN_ID.test(run)) throw new Error(`${command} needs a run id`);
    return { method: 'POST', path: `/api/admin/regenerate/${run}/${command}`, body: {} };
  }
  if (command !== undefined) throw new Error(`unknown command ${command}`);
  if (values.visibility !== undefined && !VISIBILITIES.includes(values.visibility)) {
    throw new Error(`--visibility is published or hidden, not ${values.visibility}`);
  }
  const filter = {
    ...(values.ids ? { ids: values.ids.split(',').filter(Boolean) } : {}),
    ...(values.from ? { from: parseIsoTime('--from', values.from) } : {}),
    ...(values.to ? { to: parseIsoTime('--to', values.to) } : {}),
    ...(values.visibility ? { visibility: values.visibility } : {}),
  };
  const max = values['max-executions'];
  if (max !== undefined && !RUN_ID.test(max)) {
    throw new Error('--max-executions must be a positive integer');
  }
  return {
    method: 'POST',
    path: '/api/admin/regenerate',
    body: {
      dryRun: values['dry-run'],
      filter,
      ...(max ? { caps: { maxExecutions: Number(max) } } : {}),
    },
  };
}

/**
 * What a pause or cancel cannot stop, for stderr: the run's images already
 * dispatched (in the queue or running) are still made, billed and switched
 * to. Undefined for other requests, or when none are in flight.
 */
export function inFlightNote(path: string, answer: unknown): string | undefined {
  const action = /\/(pause|cancel)$/.exec(path)?.[1];
  const parsed = RegenRunAnswer.safeParse(answer);
  if (action === undefined || !parsed.success || parsed.data.run.inFlight === 0) return undefined;
  const { id, inFlight } = parsed.data.run;
  const images = inFlight === 1 ? '1 image was' : `${inFlight} images were`;
  return `run ${id} ${action === 'pause' ? 'paused' : 'cancelled'}: ${images} already dispatched and will still be made (and billed), each switched to when it completes; scripts/regenerate status ${id} follows them`;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let request: ReturnType<typeof requestFor>;
  let env: ReturnType<typeof readAdminEnv>;
  try {
    env = readAdminEnv(process.env);
    request = requestFor(argv);
  } catch (error) {
    console.error(`error: ${coerceError(error).message}\n${USAGE}`);
    return 2;
  }
  const say = sayRetrying((line) => console.error(line));
  let retried = false;
  const client = createAdminClient({
    baseUrl: env.backendUrl,
    token: env.token,
    onRetry: (error, attempt) => {
      retried = true;
      say?.(error, attempt);
    },
  });
  try {
    const answer = await client.send(request.method, request.path, request.body);
    // One JSON object on stdout: the dry run's figures or the run's progress.
    console.log(JSON.stringify(answer, null, 2));
    const note = inFlightNote(request.path, answer);
    if (note) console.error(note);
    return 0;
  } catch (error) {
    const e = coerceError(error);
    console.error(`error: ${e.code}: ${e.message}`);
    // A start retried after a lost answer or a 5xx may have started the run it now conflicts with.
    if (e.code === 'CONFLICT' && retried && request.path === '/api/admin/regenerate') {
      console.error(
        'A run is active; the first attempt of this request may have started it before its answer was lost: see scripts/regenerate status.',
      );
    }
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main();
