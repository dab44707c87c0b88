/**
 * A counting semaphore for job task processes across all executions
 * (`LOCAL_CLOUD_MAX_RUNNING_TASKS`); waiters give up when their signal aborts.
 */

/** The semaphore. */
export interface Slots {
  /** Waits for a free slot; false when `signal` aborted first. */
  acquire(signal: AbortSignal): Promise<boolean>;
  /** Frees a slot and wakes the next waiter. */
  release(): void;
}

/** Creates a semaphore of `size` slots (0 or less: unlimited). */
export function createSlots(size: number): Slots {
  let free = size;
  const waiting: (() => void)[] = [];
  return {
    async acquire(signal) {
      if (size <= 0) return true;
      while (free === 0) {
        if (signal.aborted) return false;
        await new Promise<void>((resolve) => {
          const wake = () => {
            signal.removeEventListener('abort', wake);
            resolve();
          };
          waiting.push(wake);
          signal.addEventListener('abort', wake, { once: true });
        });
      }
      if (signal.aborted) return false;
      free--;
      return true;
    },
    release() {
      if (size <= 0) return;
      free++;
      waiting.shift()?.();
    },
  };
}
