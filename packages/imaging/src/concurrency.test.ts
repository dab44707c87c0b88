import { describe, expect, it } from 'vitest';
import { type CostedJob, runByCost } from './concurrency.ts';

/** A job that records when it runs; `gate` keeps it blocked until resolved. */
function job(name: string, cost: number, order: string[], gate?: Promise<void>): CostedJob<string> {
  let open = gate === undefined;
  // The failure of a rejected gate is reported by runByCost, not here.
  gate?.then(
    () => {
      open = true;
    },
    () => undefined,
  );
  return {
    cost: () => cost,
    blocked: () => (open ? undefined : gate),
    run: async () => {
      order.push(name);
      return name;
    },
  };
}

describe('runByCost', () => {
  it('starts the costliest ready job first and never holds a slot for a blocked one', async () => {
    const order: string[] = [];
    const gate = Promise.withResolvers<void>();
    const jobs = [
      job('blocked-big', 100, order, gate.promise),
      job('small', 1, order),
      job('medium', 10, order),
    ];
    // The blocked job opens once the medium one has run.
    const opener: CostedJob<string> = {
      cost: () => 5,
      blocked: () => undefined,
      run: async () => {
        order.push('opener');
        gate.resolve();
        return 'opener';
      },
    };
    const results = await runByCost([...jobs, opener], 1);
    expect(order).toEqual(['medium', 'opener', 'blocked-big', 'small']);
    expect(results).toEqual(['blocked-big', 'small', 'medium', 'opener']);
  });

  it('rejects with the first failure, including one of what blocks a job', async () => {
    const order: string[] = [];
    const failing = Promise.reject(new Error('search failed'));
    failing.catch(() => undefined);
    await expect(
      runByCost([job('waits', 10, order, failing as Promise<void>), job('other', 1, order)], 2),
    ).rejects.toThrow('search failed');
  });
});
