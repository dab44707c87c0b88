import * as z from 'zod';
import { OutboxDepth } from './admin-queues.ts';
import { IMAGE_ERROR_CODES, SERVICE_ERROR_CODES } from './error-codes.ts';
import { ImageStatus } from './processing.ts';
import { RegenRun } from './regeneration.ts';

/**
 * `GET /status` (public): images per status, the outbox, how long the oldest
 * waiting image has waited (null when none waits), failures in the last hour,
 * and the current or last regeneration's progress (no filter or ids: the
 * answer is public).
 */
export const StatusAnswer = z.object({
  counts: z.record(ImageStatus, z.number().int().nonnegative()),
  outbox: OutboxDepth,
  oldestWaitingAgeSeconds: z.number().int().nonnegative().nullable(),
  failuresLastHour: z.number().int().nonnegative(),
  regeneration: RegenRun.pick({
    id: true,
    status: true,
    preset: true,
    total: true,
    done: true,
    failed: true,
    remaining: true,
    etaSeconds: true,
  }).nullable(),
});
export type StatusAnswer = z.infer<typeof StatusAnswer>;

/**
 * Where a backend instance is in its life (the single-writer gate, docs/deploy.md,
 * "One writer: the database lease"): it serves only while it holds the database lease.
 */
export const WriterPhase = z.enum(['starting', 'serving', 'handing-over', 'retired', 'stopping']);
export type WriterPhase = z.infer<typeof WriterPhase>;

/**
 * `GET /readyz` 200 (public; Cloud Run's startup probe reads only the status): the instance
 * holds the lease and serves. Production answers exactly these two fields, as anyone may
 * ask a Cloud Run service; local mode adds the lease's facts for the developer (its
 * `owner`: the machine's name and the pid; the epochs), behind its Host rule.
 */
export const ReadyAnswer = z.object({ ready: z.literal(true), phase: z.literal('serving') });
export type ReadyAnswer = z.infer<typeof ReadyAnswer>;

/** `GET /healthz`: the database answered. */
export const HealthAnswer = z.object({ ok: z.literal(true) });
export type HealthAnswer = z.infer<typeof HealthAnswer>;

/**
 * Every error the backend answers, whatever the route: a code of the closed
 * list (error-codes.ts; its HTTP status comes from the backend's `statusFor`),
 * a message for people, and the request id its logs carry (also in the
 * `X-Request-Id` header).
 */
export const ErrorAnswer = z.object({
  error: z.object({
    code: z.enum([...IMAGE_ERROR_CODES, ...SERVICE_ERROR_CODES]),
    message: z.string(),
    requestId: z.string(),
  }),
});
export type ErrorAnswer = z.infer<typeof ErrorAnswer>;

/**
 * `GET /readyz` 503: an {@link ErrorAnswer} (`NOT_READY`) and the phase. Production's message
 * names only the phase; local mode's gives the reason (a handover names its successor) and
 * adds the lease's facts, as {@link ReadyAnswer} does.
 */
export const NotReadyAnswer = ErrorAnswer.extend({ phase: WriterPhase });
export type NotReadyAnswer = z.infer<typeof NotReadyAnswer>;
