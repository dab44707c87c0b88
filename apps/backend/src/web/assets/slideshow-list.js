// The slideshow's list, kept current while the page stays open (a kiosk can
// run for days): slideshow.js asks again every few minutes, when the tab comes
// back into view and when a slide's image fails to load (a deleted image's
// variants answer 404). Each request carries the last answer's ETag in
// If-None-Match, so an unchanged list costs a 304 with no body (the route
// answers with an ETag: apps/backend/src/routes/public.ts).

/**
 * Creates the fetcher of `url`: it resolves to the images, or to null when
 * the list has not changed since its last answer.
 */
export function createListFetcher(url) {
  let etag = null;
  return async function fetchList() {
    // A conditional request bypasses the HTTP cache anyway (Fetch standard,
    // HTTP-network-or-cache fetch); no-store says so and lets the 304 reach us.
    const response = await fetch(url, {
      cache: 'no-store',
      headers: etag ? { 'If-None-Match': etag } : {},
    });
    if (response.status === 304) return null;
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = await response.json();
    etag = response.headers.get('etag');
    return body.images ?? [];
  };
}

/**
 * Wraps `task` so that it never runs twice at once: a call while it runs makes
 * it run once more afterwards (a change made meanwhile is not missed), and
 * every call resolves when the runs it waits for are over.
 */
export function oneAtATime(task) {
  let running = null;
  let again = false;
  return function run() {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await task();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
}

/**
 * Where the slideshow goes when its list changes from `before` (showing
 * `before[index]`) to `after`: the same image, wherever it is now (`kept`);
 * if that one is gone, the next of the old order that is still listed; else
 * the first.
 */
export function placeAfterChange(before, index, after) {
  const positions = new Map(after.map((image, i) => [image.id, i]));
  for (let step = 0; step < before.length; step += 1) {
    const found = positions.get(before[(index + step) % before.length].id);
    if (found !== undefined) return { index: found, kept: step === 0 };
  }
  return { index: 0, kept: false };
}
