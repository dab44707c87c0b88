/**
 * `npm start`: the whole pipeline on this machine. Starts local-cloud and the
 * backend, provisions queues, workflows and the processor job, prints where to
 * look, then — until runs in this data folder have had every one accepted —
 * uploads the sample images the project generates (a HEIC among them) that
 * are not in yet and reports them until they are done. Ctrl-C stops every process it started; a later
 * run reuses .data/, resumes unfinished work and uploads no samples again (an
 * image the admin deleted stays deleted). A failure of the samples is
 * reported and the stack keeps serving; local-cloud or the backend ending on
 * its own (a crash, out of memory) stops the rest and exits 1, naming it.
 *
 * Environment: PORT (backend, 8080), LOCAL_CLOUD_PORT (8123), DATA_DIR (.data, kept 0700),
 * ADMIN_PASSWORD (default: generated once into DATA_DIR/admin-password).
 * It never takes over a stack it did not start: a port already in use, or a
 * DATA_DIR another `npm start` is running on, stops it with a message naming
 * the variable that moves it.
 */

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StatusAnswer, UploadOutcome } from '@slideshow/contracts';
import { claimDataDir, StartRefused } from './data-dir-claim.ts';
import { type LocalStack, startLocalStack } from './local-stack.ts';
import { makeSampleHeic, makeSampleImages } from './sample-images.ts';
import { repoRoot } from './shared-dir.ts';
import { type LogFailure, PortInUseError, type UnexpectedExit } from './stack-children.ts';

const say = (line = '') => process.stderr.write(`${line}\n`);
// A closed terminal window hangs up the tty (SIGHUP, then every write fails with EIO), and a
// reader that exits closes a pipe (EPIPE). Either way the lines have nowhere to go; the
// stream's 'error' event would otherwise end this process before it has stopped the stack,
// released DATA_DIR and let the backend and local-cloud write their last log lines.
process.stderr.on('error', () => undefined);

/** Which variable moves which service's port. */
const PORT_VARIABLE = { backend: 'PORT', 'local-cloud': 'LOCAL_CLOUD_PORT' } as const;

/** The port `name` sets: unset → `fallback`, 0 → one the OS picks, else 1–65535. */
function portFrom(name: 'PORT' | 'LOCAL_CLOUD_PORT', fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new StartRefused(
      `${name} must be a port number from 0 to 65535 but is ${JSON.stringify(raw)}`,
    );
  }
  return port;
}

/**
 * Marks the data folder once every sample was accepted: later runs upload none again
 * (`existsSync` of this file, not of the database, which a run killed before the samples, or a
 * DATABASE_PATH elsewhere, would make a wrong test).
 */
const SAMPLES_MARKER = 'samples-uploaded';

/**
 * The samples accepted so far, one name a line, while some are still missing (refused, or never
 * read after an earlier failure): the next run uploads only the others, so a sample the admin
 * deleted meanwhile is not brought back.
 */
const SAMPLES_ACCEPTED = 'samples-accepted';

/**
 * True when the folder's database shows that an earlier run uploaded images: it has image rows,
 * or its outbox ever numbered a dispatch (AUTOINCREMENT keeps the count after every image is
 * deleted). Versions before the {@link SAMPLES_MARKER} uploaded the samples on the run that
 * created the database and wrote no marker; without this, the first run of a newer version on
 * such a folder sent them again and brought back the ones the admin had deleted. A folder with
 * {@link SAMPLES_ACCEPTED} has a record of its own and is not asked.
 */
function imagesUploadedBefore(dataDir: string): boolean {
  const path = join(dataDir, 'slideshow.db');
  if (!existsSync(path) || existsSync(join(dataDir, SAMPLES_ACCEPTED))) return false;
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const tables = new Set(
      db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .all()
        .map((r) => String(r.name)),
    );
    if (tables.has('images') && db.prepare('SELECT 1 FROM images LIMIT 1').get()) return true;
    return (
      tables.has('sqlite_sequence') &&
      db.prepare("SELECT 1 FROM sqlite_sequence WHERE name = 'outbox' AND seq > 0").get() !==
        undefined
    );
  } finally {
    db.close();
  }
}

/** True when the samples are in: the marker, or an older version's images (marked now). */
function samplesAlreadyDone(dataDir: string): boolean {
  const marker = join(dataDir, SAMPLES_MARKER);
  if (existsSync(marker)) return true;
  if (!imagesUploadedBefore(dataDir)) return false;
  writeFileSync(marker, `${new Date().toISOString()} (images found from an earlier version)\n`);
  return true;
}

/** The names in {@link SAMPLES_ACCEPTED}, none when there is no such file. */
function acceptedBefore(dataDir: string): Set<string> {
  const file = join(dataDir, SAMPLES_ACCEPTED);
  if (!existsSync(file)) return new Set();
  return new Set(readFileSync(file, 'utf8').split('\n').filter(Boolean));
}

/**
 * Reports each sample the backend refused (code and message) or never read (the backend stops
 * reading an upload at a storage failure, and its answer leaves the rest out), records the
 * accepted ones for the next run and marks the folder once none is missing. Returns the ids to follow.
 */
function recordOutcomes(
  dataDir: string,
  sent: string[],
  outcomes: UploadOutcome[],
  before: Set<string>,
): string[] {
  const accepted = outcomes.flatMap((o) => ('id' in o ? [o] : []));
  for (const o of outcomes) {
    if ('error' in o) say(`  ${o.originalName}: refused, ${o.error.code}: ${o.error.message}`);
  }
  const answered = new Set(outcomes.map((o) => o.originalName));
  for (const name of sent.filter((n) => !answered.has(n))) {
    say(`  ${name}: not read (the backend stopped reading the upload at an earlier failure)`);
  }
  const missing = sent.length - accepted.length;
  if (missing === 0) {
    writeFileSync(join(dataDir, SAMPLES_MARKER), `${new Date().toISOString()}\n`);
    rmSync(join(dataDir, SAMPLES_ACCEPTED), { force: true });
  } else {
    const names = [...before, ...accepted.map((o) => o.originalName)];
    writeFileSync(join(dataDir, SAMPLES_ACCEPTED), `${names.join('\n')}\n`);
  }
  const duplicates = accepted.filter((o) => o.duplicate).length;
  say(
    `  ${accepted.length} accepted${duplicates ? ` (${duplicates} already known)` : ''}` +
      (missing ? `, ${missing} not: the next npm start in this folder sends those again` : ''),
  );
  return accepted.map((o) => o.id);
}

/** Uploads the samples not accepted yet, then reports them until every one is done (bounded). */
async function uploadSamples(stack: LocalStack, dataDir: string): Promise<void> {
  const before = acceptedBefore(dataDir);
  const samples = [...(await makeSampleImages(5)), makeSampleHeic()].filter(
    (sample) => !before.has(sample.name),
  );
  if (samples.length === 0) {
    // Every one was accepted already (the run that recorded the last of them ended before marking).
    writeFileSync(join(dataDir, SAMPLES_MARKER), `${new Date().toISOString()}\n`);
    return;
  }
  say(
    before.size > 0
      ? `Uploading the ${samples.length} sample images an earlier run could not (generated here) …`
      : 'Uploading sample images (generated here) …',
  );
  const form = new FormData();
  for (const sample of samples)
    form.append('file', new Blob([new Uint8Array(sample.bytes)]), sample.name);
  const response = await stack.admin('/api/admin/upload', { method: 'POST', body: form });
  const body = (await response.json()) as {
    images?: UploadOutcome[];
    error?: { code?: string; message?: string };
  };
  if (!response.ok || !body.images) {
    // The backend answers one error when it accepted none: the first refusal's.
    const why = body.error
      ? `${body.error.code}: ${body.error.message}`
      : `HTTP ${response.status} ${JSON.stringify(body)}`;
    throw new Error(
      `none of the ${samples.length} samples was accepted (${why}); the next npm start in this folder sends them again`,
    );
  }
  const sent = samples.map((sample) => sample.name);
  await reportUntilDone(stack, recordOutcomes(dataDir, sent, body.images, before));
}

/** The states at which a sample needs nothing more (`deleted`: its image is gone, a 404). */
const SETTLED = new Set(['processed', 'failed', 'deleted']);

/** Polls the accepted samples' states, saying each change, until all are settled or 10 minutes pass. */
async function reportUntilDone(stack: LocalStack, ids: string[]): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  let last = '';
  for (;;) {
    const states = await Promise.all(
      ids.map(async (id) => {
        const r = await stack.admin(`/api/images/${id}`);
        if (r.status === 404) return 'deleted';
        return r.ok ? ((await r.json()) as { status: string }).status : 'unknown';
      }),
    );
    const counts: Record<string, number> = {};
    for (const s of states) counts[s] = (counts[s] ?? 0) + 1;
    const line = Object.entries(counts)
      .map(([s, n]) => `${n} ${s}`)
      .join(', ');
    if (line !== last) say(`  ${line}`);
    last = line;
    if (states.every((s) => SETTLED.has(s))) {
      say(`Samples done: ${line}.`);
      return;
    }
    if (Date.now() > deadline) {
      say('Samples: still working after 10 minutes; the stack keeps running.');
      return;
    }
    await sleep(500);
  }
}

/** The statuses of images still on their way; the `/status` counts name every status. */
const UNFINISHED = ['uploaded', 'queued', 'processing'] as const;

/**
 * On a later start, says what the last run left unfinished (a Ctrl-C leaves
 * the images in flight, and a running regeneration's items, to be finished
 * here): the stack resumes them itself. A paused, cancelled or capped
 * regeneration is not resumed, so it is not counted; nor is one made for
 * another preset version than the backend's now (an edited preset file): the
 * backend cancels it as superseded as it starts, before it answers /status.
 */
async function sayUnfinished(stack: LocalStack): Promise<void> {
  try {
    const response = await fetch(`${stack.backendUrl}/status`);
    if (!response.ok) return;
    const { counts, regeneration: run } = (await response.json()) as StatusAnswer;
    const parts = UNFINISHED.filter((s) => (counts[s] ?? 0) > 0).map((s) => `${counts[s]} ${s}`);
    if (run?.status === 'running' && run.remaining > 0) {
      parts.push(
        `regeneration run ${run.id} to ${run.preset} (${run.remaining} of ${run.total} images left)`,
      );
    }
    if (parts.length > 0) {
      say(`Unfinished from the last run: ${parts.join(', ')}; finishing them now.`);
    }
  } catch {
    // Only a courtesy line: the stack serves and resumes its work whatever this read does.
  }
}

/** `word` as one shell word: as it is when it is safe, else in single quotes. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** Prints where to look: URLs, the password, the token and the commands an operator uses. */
function printWhereToLook(stack: LocalStack, dataDir: string, passwordChosen: boolean): void {
  // The commands below are for copying into a shell: a DATA_DIR with a space or a "#" is quoted.
  const db = shellWord(resolve(dataDir, 'slideshow.db'));
  // The wrapper finds this stack by LOCAL_CLOUD_PORT and LOCAL_CLOUD_DATA_DIR (apps/local-cloud/README.md).
  const gcloudPrefix = `LOCAL_CLOUD_PORT=${new URL(stack.localCloudUrl).port} LOCAL_CLOUD_DATA_DIR=${shellWord(dataDir)} npm run --silent gcloud --`;
  say(`
The pipeline is running.
  Slideshow         ${stack.backendUrl}/
  Admin             ${stack.backendUrl}/admin   (password: ${passwordChosen ? 'the ADMIN_PASSWORD you set' : stack.adminPassword})
  Status            ${stack.backendUrl}/status
  Admin API token   ${stack.adminToken}   (Authorization: Bearer …)
  Emulated cloud    ${stack.localCloudUrl}   resources under ${stack.parent}
  Failed tasks      sqlite3 -header -column ${db} "SELECT f.image_id, f.error_code, f.attempt_count, i.attempts, f.last_attempt, f.source FROM failed_tasks f JOIN images i ON i.id = f.image_id WHERE f.resolved_at IS NULL ORDER BY f.last_attempt DESC LIMIT 50"
  gcloud            ${gcloudPrefix} tasks queues list --location=${stack.location}
                    ${gcloudPrefix} workflows executions list process-image --location=${stack.location}
                    ${gcloudPrefix} run jobs executions list --job=processor --region=${stack.location}
  Logs              ${resolve(dataDir, 'logs')}
Press Ctrl-C to stop.`);
}

/** What a log write's error code says about the disk, for {@link logFailureMessage}. */
const LOG_ERROR_MEANING: Record<string, string> = {
  ENOSPC: 'the disk holding it is full',
  EDQUOT: 'the disk quota of this user is used up on the disk holding it',
  EIO: 'the disk holding it reported an I/O error',
  EROFS: 'the filesystem holding it is read-only',
};

/** Which log could not be written, why, and what happens now. */
function logFailureMessage(failure: LogFailure): string {
  const who = failure.service === 'backend' ? "the backend's" : "local-cloud's";
  const meaning = failure.code ? LOG_ERROR_MEANING[failure.code] : undefined;
  return (
    `Could not write ${who} log ${failure.log}: ${failure.message}` +
    `${meaning ? ` (${meaning})` : ''}. The stack cannot keep its logs, so it stops; ` +
    'free some space or fix the disk, then run npm start again. Stopping local-cloud and the backend …'
  );
}

/** Which server ended, how, where its log is, and what happens now. */
function unexpectedExitMessage(exit: UnexpectedExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit status ${exit.code}`;
  const other = exit.service === 'backend' ? 'local-cloud' : 'the backend';
  return (
    `${exit.service === 'backend' ? 'The backend' : 'local-cloud'} stopped unexpectedly (${how}); ` +
    `its log is ${exit.log}. Stopping ${other} …`
  );
}

async function main(): Promise<void> {
  const dataDir = resolve(repoRoot, process.env.DATA_DIR || '.data');
  const localCloudPort = portFrom('LOCAL_CLOUD_PORT', 8123);
  const backendPort = portFrom('PORT', 8080);
  // An empty ADMIN_PASSWORD counts as unset.
  const chosenPassword = process.env.ADMIN_PASSWORD || undefined;
  const release = claimDataDir(dataDir, say);
  // Samples go in once per data folder: on a later run they would bring back images the admin
  // deleted (an upload of the same bytes after a delete is a new image).
  const samplesDone = samplesAlreadyDone(dataDir);
  say(`Starting the local stack (state in ${dataDir}) …`);
  let stack: LocalStack;
  try {
    stack = await startLocalStack({
      dataDir,
      localCloudPort,
      backendPort,
      ...(chosenPassword ? { adminPassword: chosenPassword } : {}),
      echo: (name, line) => {
        // Full logs are in .data/logs; show only warnings and errors here.
        if (/"severity":"(WARNING|ERROR)"/.test(line)) say(`[${name}] ${line}`);
      },
    });
  } catch (error) {
    release();
    if (error instanceof PortInUseError) {
      const variable = PORT_VARIABLE[error.service];
      const other = variable === 'PORT' ? 'LOCAL_CLOUD_PORT' : 'PORT';
      throw new StartRefused(
        `port ${error.port} (${variable}, the ${error.service}) is already in use: another local stack ` +
          'or program listens there, and npm start does not take over what it did not start. Stop ' +
          `it, or choose another port: ${variable}=${error.port + 1} npm start (a second stack also ` +
          `needs its own ${other} and DATA_DIR).`,
      );
    }
    throw error;
  }
  let stopping = false;
  /** Stops the stack once, releases DATA_DIR and exits with `status`. */
  const shutdown = async (why: string, status: number) => {
    if (stopping) return;
    stopping = true;
    say(why);
    await stack.stop();
    release();
    say('Stopped.');
    process.exit(status);
  };
  // SIGHUP: the terminal was closed. The job tasks run in process groups of their own
  // (local-cloud stops them), so the stack is stopped the same way as on Ctrl-C.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(
      signal,
      () => void shutdown(`\n${signal}: stopping local-cloud and the backend …`, 0),
    );
  }
  // Half a stack only looks alive (/status answers while nothing is dispatched): a server
  // that ends on its own stops the rest, as Ctrl-C does, and the launcher fails.
  void stack.unexpectedExit.then((exit) => shutdown(`\n${unexpectedExitMessage(exit)}`, 1));
  // A log the stack cannot write (a full disk) would hide why anything later goes wrong.
  void stack.logFailure.then((failure) => shutdown(`\n${logFailureMessage(failure)}`, 1));

  // Where to look comes first: the stack serves already, whatever the samples or a backlog do.
  printWhereToLook(stack, dataDir, chosenPassword !== undefined);
  if (samplesDone) {
    say(
      'Samples: none uploaded (this data folder had them; use a new DATA_DIR for a fresh start).',
    );
    await sayUnfinished(stack);
  } else {
    // A folder whose samples are not all in yet may have work left from its last run too.
    await sayUnfinished(stack);
    // The stack is up and announced: a sample that cannot be made or uploaded is reported, not fatal.
    await uploadSamples(stack, dataDir).catch((error: unknown) => {
      if (stopping) return;
      say(
        `Samples: not uploaded (${error instanceof Error ? error.message : String(error)}); the stack keeps running.`,
      );
    });
  }
  await new Promise(() => {});
}

main().catch((error: unknown) => {
  if (error instanceof StartRefused) say(`npm start: ${error.message}`);
  else say(`npm start failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
