/**
 * Entry point of scripts/regenerate: a dry run (count, estimated CPU-seconds
 * and list-price cost), a run started, paused, resumed or cancelled, and its
 * progress — all through `/api/admin/regenerate` (BACKEND_URL, ADMIN_TOKEN).
 * Exit status: 0 done, 1 the backend refused or failed, 2 bad usage.
 */
import { parseArgs } from 'node:util';

/** How to call it. */
export const USAGE = `usage: scripts/regenerate [--dry-run] [--ids A,B] [--from ISO] [--to ISO]
                          [--visibility published|hidden] [--max-executions N]
       scripts/regenerate status [RUN] | pause RUN | resume RUN | cancel RUN
environment: BACKEND_URL, ADMIN_TOKEN`;

class UsageError extends Error {}

/** The request a command line makes: method, path and body. */
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
    return { method: 'GET', path: run ? `/api/admin/regenerate/${run}` : '/api/admin/regenerate' };
  }
  if (command === 'pause' || command === 'resume' || command === 'cancel') {
    if (!run || !/^[1-9][0-9]*$/.test(run)) throw new UsageError(`${command} needs a run id`);
    return { method: 'POST', path: `/api/admin/regenerate/${run}/${command}`, body: {} };
  }
  if (command !== undefined) throw new UsageError(`unknown command ${command}`);
  const filter = {
    ...(values.ids ? { ids: values.ids.split(',').filter(Boolean) } : {}),
    ...(values.from ? { from: values.from } : {}),
    ...(values.to ? { to: values.to } : {}),
    ...(values.visibility ? { visibility: values.visibility } : {}),
  };
  const max = values['max-executions'];
  if (max !== undefined && !/^[1-9][0-9]*$/.test(max)) {
    throw new UsageError('--max-executions must be a positive integer');
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

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const backendUrl = process.env.BACKEND_URL;
  const token = process.env.ADMIN_TOKEN;
  let request: ReturnType<typeof requestFor>;
  try {
    if (!backendUrl || !token) throw new UsageError('BACKEND_URL and ADMIN_TOKEN are required');
    request = requestFor(argv);
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const response = await fetch(new URL(request.path, backendUrl), {
    method: request.method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
  });
  const text = await response.text();
  if (!response.ok) {
    console.error(`error: ${request.method} ${request.path} answered ${response.status}: ${text}`);
    return 1;
  }
  // One JSON object on stdout: the dry run's figures or the run's progress.
  console.log(JSON.stringify(JSON.parse(text), null, 2));
  return 0;
}

if (import.meta.main) process.exitCode = await main();
