/**
 * The seeded chaos schedule: every few seconds, kill -9 the backend or
 * local-cloud (and start it again, as a supervisor would), or SIGKILL running
 * processor attempts (as an OOM kill or a node failure would). One event at a
 * time; the seed fixes the order, the gaps and the choices.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { coerceError } from '@slideshow/runtime';
import type { LocalStack } from '@slideshow/tools/local-stack';
import { waitForHttp } from '@slideshow/tools/stack-children';
import { createRandom } from './corpus.ts';
import { findPids, killAll } from './processes.ts';

/** What the chaos did. */
export interface ChaosFigures {
  backendKills: number;
  localCloudKills: number;
  processorKills: number;
  /** One line per event, for the log. */
  events: string[];
}

/** Options for {@link startChaos}. */
export interface ChaosOptions {
  seed: number;
  minGapMs: number;
  maxGapMs: number;
  log: (line: string) => void;
}

type ChaosEvent = 'processor' | 'backend' | 'local-cloud';

/**
 * The next event to play: the first four are a seeded order of a processor,
 * the backend, local-cloud and a processor again, so every run kills each
 * process at least once; then processor 50 %, backend 25 %, local-cloud 25 %.
 */
function eventPicker(random: () => number): { next(): ChaosEvent; forcedLeft(): number } {
  const first: ChaosEvent[] = ['processor', 'backend', 'local-cloud', 'processor'];
  for (let i = first.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [first[i], first[j]] = [first[j] ?? 'processor', first[i] ?? 'processor'];
  }
  return {
    next() {
      const forced = first.shift();
      if (forced) return forced;
      const roll = random();
      return roll < 0.5 ? 'processor' : roll < 0.75 ? 'backend' : 'local-cloud';
    },
    forcedLeft: () => first.length,
  };
}

/**
 * Restarts like a supervisor: a process that started but answers slowly (recovering a
 * backlog on a loaded machine) gets more time; one that exited is started again.
 */
async function restartLikeSupervisor(
  name: string,
  start: () => Promise<void>,
  probe: string,
  note: (line: string) => void,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      return;
    } catch (error) {
      const e = coerceError(error);
      note(`${name} slow to come back (attempt ${attempt}): ${e.message}`);
      if (attempt >= 3) throw e;
      if (!e.message.includes('exited')) {
        await waitForHttp(probe, undefined, 180_000);
        return;
      }
    }
  }
}

/** Plays one event: SIGKILL some processor attempts, or kill -9 a server and start it again. */
async function playEvent(
  event: ChaosEvent,
  stack: LocalStack,
  random: () => number,
  figures: ChaosFigures,
  note: (line: string) => void,
): Promise<void> {
  if (event === 'processor') {
    const running = findPids('processor', `BACKEND_API_URL=${stack.backendUrl}`);
    const chosen = running.filter(() => random() < 0.5).slice(0, 3);
    const killed = killAll(chosen);
    figures.processorKills += killed;
    note(`SIGKILL ${killed} of ${running.length} running processor attempts`);
  } else if (event === 'backend') {
    note('kill -9 backend');
    await restartLikeSupervisor(
      'backend',
      () => stack.restartBackend({ hard: true }),
      `${stack.backendUrl}/healthz`,
      note,
    );
    figures.backendKills++;
    note('backend back');
  } else {
    note('kill -9 local-cloud');
    await restartLikeSupervisor(
      'local-cloud',
      () => stack.restartLocalCloud({ hard: true }),
      `${stack.localCloudUrl}/v2/${stack.parent}/queues`,
      note,
    );
    figures.localCloudKills++;
    note('local-cloud back');
  }
}

/** Starts the schedule; `stop()` ends it after the current event and returns what happened. */
export function startChaos(
  stack: LocalStack,
  options: ChaosOptions,
): { stop(): Promise<ChaosFigures> } {
  const random = createRandom(options.seed ^ 0x5eed);
  const figures: ChaosFigures = {
    backendKills: 0,
    localCloudKills: 0,
    processorKills: 0,
    events: [],
  };
  const controller = new AbortController();
  const started = Date.now();
  const note = (line: string) => {
    const text = `[chaos +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}`;
    figures.events.push(text);
    options.log(text);
  };
  const events = eventPicker(random);

  const loop = async () => {
    // After stop(), the guaranteed first events still run (one minimum gap apart), then it ends.
    while (!controller.signal.aborted || events.forcedLeft() > 0) {
      const gap = options.minGapMs + random() * (options.maxGapMs - options.minGapMs);
      try {
        if (controller.signal.aborted) await sleep(options.minGapMs);
        else await sleep(gap, undefined, { signal: controller.signal });
      } catch (error) {
        // Aborted mid-gap: go round again, which ends the loop unless forced events remain.
        if (controller.signal.aborted) continue;
        throw coerceError(error);
      }
      await playEvent(events.next(), stack, random, figures, note);
    }
  };
  const running = loop();
  return {
    async stop() {
      controller.abort();
      await running;
      return figures;
    },
  };
}
