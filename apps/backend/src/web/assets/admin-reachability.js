// Whether the console can reach the server. `api` (admin-api.js) marks the
// error of a request that got no answer at all (`noAnswer`: the network is
// down, the server stopped): the console then shows a visible alert in words — the browser's own message
// ("Failed to fetch") says nothing to an admin — and keeps polling; the next
// poll that gets through takes the alert away. Answers that did come (a 4xx,
// a 5xx) are the API's errors, said by their callers.
import { $ } from './admin-dom.js';

/** What the alert says while the server cannot be reached. */
export const UNREACHABLE = 'Can’t reach the server — retrying.';

/** True for the error of a request that got no answer (not an API error). */
export const isNetworkError = (error) => error?.noAnswer === true;

/** Shows the alert (its text set when it shows, so screen readers announce it). */
function showUnreachable() {
  const alert = $('unreachable');
  if (!alert.hidden) return;
  alert.textContent = UNREACHABLE;
  alert.hidden = false;
}

/** A request got an answer: the server is reachable again. */
export function serverReached() {
  const alert = $('unreachable');
  alert.hidden = true;
  alert.textContent = '';
}

/**
 * The words for a failed request: for one that got no answer the alert shows
 * and the words say so; otherwise the API's error in words (admin-api.js).
 */
export function failureText(error) {
  if (!isNetworkError(error)) return error.message;
  showUnreachable();
  return UNREACHABLE;
}
