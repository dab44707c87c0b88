/**
 * Preload for the clock-skew case of lease.test.ts (`node --import …`): shifts
 * this process's wall clock (`Date`) by SKEW_MS, as a machine whose clock is
 * wrong would, and leaves the monotonic clock (`performance.now`) alone —
 * exactly what a skewed CLOCK_REALTIME does to a process.
 */
const skew = Number(process.env.SKEW_MS ?? '0');
const RealDate = Date;

class SkewedDate extends RealDate {
  constructor(...args: ConstructorParameters<typeof Date> | []) {
    if (args.length === 0) super(RealDate.now() + skew);
    else super(...(args as ConstructorParameters<typeof Date>));
  }
  static override now(): number {
    return RealDate.now() + skew;
  }
}

globalThis.Date = SkewedDate as DateConstructor;
