/**
 * Reading a field of a parsed JSON request body as a message, for the Cloud
 * Tasks and Cloud Run emulations (tasks/model.ts, tasks/new-task.ts,
 * run/model.ts, run/v1-resources.ts): an absent message reads as an empty one,
 * as proto3 gives an unset message its defaults, so a chain such as
 * `obj(obj(body.template).spec).containers` never throws.
 */

/**
 * A JSON object of a request body, or `{}` when the value is absent, null, an
 * array or a scalar: all four read as an empty message, never as an error.
 */
export function obj(v: unknown): Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}
