import { describe, expect, it } from 'vitest';
import { createSlots } from './slots.ts';

/** Settles `promise` against a marker: what it resolved to, or 'pending' after the queued jobs ran. */
async function state<T>(promise: Promise<T>): Promise<T | 'pending'> {
  return await Promise.race([
    promise,
    new Promise<'pending'>((resolve) => setImmediate(() => resolve('pending'))),
  ]);
}

describe('the task slots', () => {
  it('hands a released slot to the waiter that asked first', async () => {
    const slots = createSlots(1);
    const never = new AbortController().signal;
    expect(await slots.acquire(never)).toBe(true);
    const first = slots.acquire(never);
    const second = slots.acquire(never);
    expect(await state(first)).toBe('pending');
    slots.release();
    // A caller arriving now does not overtake the waiters.
    const late = slots.acquire(never);
    expect(await state(first)).toBe(true);
    expect(await state(second)).toBe('pending');
    slots.release();
    expect(await state(second)).toBe(true);
    expect(await state(late)).toBe('pending');
    slots.release();
    expect(await state(late)).toBe(true);
  });

  it('does not spend a release on a waiter that gave up', async () => {
    const slots = createSlots(1);
    const never = new AbortController().signal;
    expect(await slots.acquire(never)).toBe(true);
    const cancel = new AbortController();
    const cancelled = slots.acquire(cancel.signal);
    const waiting = slots.acquire(never);
    cancel.abort();
    expect(await cancelled).toBe(false);
    slots.release();
    expect(await state(waiting)).toBe(true);
  });

  it('refuses at once when the signal already aborted, and counts a slot given back', async () => {
    const slots = createSlots(2);
    const never = new AbortController().signal;
    expect(await slots.acquire(AbortSignal.abort())).toBe(false);
    expect(await slots.acquire(never)).toBe(true);
    expect(await slots.acquire(never)).toBe(true);
    const third = slots.acquire(never);
    expect(await state(third)).toBe('pending');
    slots.release();
    expect(await state(third)).toBe(true);
  });

  it('never makes anyone wait when unlimited', async () => {
    const slots = createSlots(0);
    const never = new AbortController().signal;
    for (let i = 0; i < 100; i++) expect(await slots.acquire(never)).toBe(true);
  });
});
