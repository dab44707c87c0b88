/**
 * A counting semaphore for job task processes across all executions
 * (`LOCAL_CLOUD_MAX_RUNNING_TASKS`); waiters give up when their signal aborts.
 * A released slot goes straight to the longest waiter (never to a caller that
 * came later), and a waiter that gave up leaves the queue at once, so no
 * release is ever spent on it while another waiter sleeps.
 */

/** The semaphore. */
export interface Slots {
  /** Waits for a free slot; false when `signal` aborted first. */
  acquire(signal: AbortSignal): Promise<boolean>;
  /** Frees a slot: the longest waiter gets it, else it is free. */
  release(): void;
}

/** Creates a semaphore of `size` slots (0 or less: unlimited). */
export function createSlots(size: number): Slots {
  let free = size;
  const waiting: (() => void)[] = [];
  return {
    acquire(signal) {
      if (size <= 0) return Promise.resolve(true);
      if (signal.aborted) return Promise.resolve(false);
      if (free > 0 && waiting.length === 0) {
        free--;
        return Promise.resolve(true);
      }
      return new Promise<boolean>((resolve) => {
        const grant = () => {
          signal.removeEventListener('abort', giveUp);
          resolve(true);
        };
        const giveUp = () => {
          const at = waiting.indexOf(grant);
          if (at !== -1) waiting.splice(at, 1);
          resolve(false);
        };
        waiting.push(grant);
        signal.addEventListener('abort', giveUp, { once: true });
      });
    },
    release() {
      if (size <= 0) return;
      const next = waiting.shift();
      // Handed over: the slot stays taken, by the waiter now.
      if (next) next();
      else free++;
    },
  };
}
