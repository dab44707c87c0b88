/**
 * Shared checks for the hostile-caller tests: a whole-database snapshot (the
 * "nothing changed" witness), the error-shape assertion, and the route list
 * read from the app's own routes table.
 */
import { expect } from 'vitest';
import type { TestApp } from './helpers.ts';

type ErrorBody = { error: { code: string; message: string; requestId: string } };
/** One route of the app. */
export type Route = { method: string; path: string };

/** Every row of every table, in a stable order: the "nothing changed" witness. */
export function snapshotDatabase(t: TestApp): string {
  const tables = t.db
    .prepare<[], { name: string }>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .all();
  const dump: Record<string, unknown[]> = {};
  for (const { name } of tables) {
    dump[name] = t.db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all();
  }
  return JSON.stringify(dump);
}

/** Every key in the test app's store, sorted. */
export async function storeKeys(t: TestApp): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of t.store.list('')) keys.push(info.key);
  return keys.sort();
}

/** Asserts an error answer with the one error shape and the expected code. */
export async function expectRefused(
  response: Response,
  status: number,
  code: string,
  what: string,
) {
  const text = await response.text();
  expect(response.status, `${what}: ${text}`).toBe(status);
  const body = JSON.parse(text) as ErrorBody;
  expect(body.error.code, what).toBe(code);
  expect(body.error.requestId, what).toBe(response.headers.get('x-request-id'));
  expect(body.error.message.length, what).toBeGreaterThan(0);
}

/** The app's routes under `prefixes` (middleware entries excluded), minus `except`. */
export function routesUnder(t: TestApp, prefixes: string[], except: string[] = []): Route[] {
  const seen = new Map<string, Route>();
  for (const r of t.app.routes) {
    if (r.method === 'ALL' || except.includes(r.path)) continue;
    if (!prefixes.some((p) => r.path.startsWith(p))) continue;
    seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path });
  }
  return [...seen.values()];
}
