/**
 * Helpers for the media library API tests: an app-bound client that uploads,
 * drives an image through the processing callbacks, and follows cursors.
 */
import {
  CallbackAnswer,
  type LibraryImage,
  LibraryPageAnswer,
  type Slide as SlideAnswer,
  UploadAnswer,
} from '@slideshow/contracts';
import type * as z from 'zod';
import {
  admin,
  callback,
  expectAnswer,
  expectJson,
  multipart,
  sampleResult,
  type TestApp,
} from './helpers.ts';

/** An image as the admin library shows it (its contract). */
export type View = LibraryImage;
/** One page of the listing (its contract). */
export type Page = LibraryPageAnswer;
/** A slide as the public API shows it (its contract). */
export type Slide = SlideAnswer;
/**
 * The library client; `current` gives the test's app (a new one per test),
 * read at each call.
 */
export function libraryClient(current: () => TestApp) {
  const upload = async (name: string, bytes: Buffer) => {
    const body = await expectAnswer(
      UploadAnswer,
      await current().app.request('/api/admin/upload', {
        method: 'POST',
        headers: admin(),
        body: multipart([{ name, bytes }]),
      }),
      202,
    );
    const image = body.images[0];
    if (!image || !('id' in image)) throw new Error(`the upload refused ${name}`);
    return image.id;
  };
  const json = (method: string, path: string, body?: unknown) =>
    current().app.request(path, {
      method,
      headers: admin({ 'Content-Type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  /** `GET path` as the admin, checked against the answer's contract. */
  const get = async <S extends z.ZodType>(schema: S, path: string) =>
    expectAnswer(schema, await current().app.request(path, { headers: admin() }), 200);
  /** One page of `GET /api/admin/images?<query>`, checked against its contract. */
  const list = async (query = '') =>
    expectAnswer(
      LibraryPageAnswer,
      await current().app.request(`/api/admin/images${query ? `?${query}` : ''}`, {
        headers: admin(),
      }),
      200,
    );
  const process = async (id: string) => {
    await current().relay.drain();
    const row = current().repos.images.get(id)!;
    await expectAnswer(
      CallbackAnswer,
      await current().app.request(`/api/processing/${id}/started`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify({ generation: row.generation, execution: `exec-${id}` }),
      }),
      200,
    );
    await expectJson(
      await current().app.request(`/api/processing/${id}/complete`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify({ generation: row.generation, result: sampleResult() }),
      }),
      200,
    );
  };
  const fail = async (id: string) => {
    await current().relay.drain();
    const row = current().repos.images.get(id)!;
    await expectJson(
      await current().app.request(`/api/processing/${id}/failed`, {
        method: 'POST',
        headers: callback(),
        body: JSON.stringify({
          generation: row.generation,
          execution: 'exec-bad',
          code: 'CORRUPT_IMAGE',
          message: 'premature end of JPEG data',
        }),
      }),
      200,
    );
  };
  /** Follows nextCursor to the end; bounded by the number of pages it can take. */
  const everything = async (query: string, pageSize: number, maxPages = 50) => {
    const seen: View[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < maxPages; page += 1) {
      const sep = query ? '&' : '';
      const body: Page = await list(
        `${query}${sep}limit=${pageSize}${cursor ? `&cursor=${cursor}` : ''}`,
      );
      seen.push(...body.images);
      cursor = body.nextCursor;
      if (!cursor) return seen;
    }
    throw new Error(`more than ${maxPages} pages`);
  };

  return { upload, json, get, list, process, fail, everything };
}
