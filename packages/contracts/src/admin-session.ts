import * as z from 'zod';

/**
 * `POST /api/admin/login`: the session is in the `sid` cookie (HttpOnly); the
 * answer carries the token that the session's writes send as `X-CSRF-Token`.
 */
export const LoginAnswer = z.object({ ok: z.literal(true), csrfToken: z.string() });
export type LoginAnswer = z.infer<typeof LoginAnswer>;

/** `POST /api/admin/logout` (also without a session: the cookie is cleared either way). */
export const LogoutAnswer = z.object({ ok: z.literal(true) });
export type LogoutAnswer = z.infer<typeof LogoutAnswer>;

/** `GET /api/admin/session`: whether the `sid` cookie names a live session, and its CSRF token (null when not). */
export const SessionAnswer = z.object({
  authenticated: z.boolean(),
  csrfToken: z.string().nullable(),
});
export type SessionAnswer = z.infer<typeof SessionAnswer>;

/**
 * `POST /api/admin/sessions/end-all` (an admin: a session or a bearer token):
 * every admin session ends, the caller's included; `ended` is how many.
 */
export const EndSessionsAnswer = z.object({ ok: z.literal(true), ended: z.number().int().min(0) });
export type EndSessionsAnswer = z.infer<typeof EndSessionsAnswer>;
