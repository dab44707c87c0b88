// The admin console's entry: login and logout, then the sections (upload,
// library, slideshow order, jobs) and one poll loop that keeps them current —
// faster while uploads are being followed, paused while the tab is hidden,
// every library card looked at again when the admin comes back to the tab —
// and says in a visible alert while the server cannot be reached
// (admin-reachability.js).
import { api, setCsrfToken, whenUnauthenticated } from './admin-api.js';
import { confirmAction } from './admin-confirm.js';
import { closeKeepingEdits, initDetail, reopenWithKeptEdits } from './admin-detail.js';
import { $, announce } from './admin-dom.js';
import { initJobs, refreshFailed, refreshQueues, refreshStatus } from './admin-jobs.js';
import {
  imagesChanged,
  initLibrary,
  refreshGrid,
  resetGrid,
  showUploaded,
} from './admin-library.js';
import { initMenu } from './admin-menu.js';
import { initOrder, refreshOrder } from './admin-order.js';
import { failureText, isNetworkError, serverReached } from './admin-reachability.js';
import { initRegeneration, refreshRegeneration } from './admin-regenerate.js';
import { initUploads, refreshUploads, resumeAfterLogin, uploadsBusy } from './admin-uploads.js';

let pollTimer = null;
let started = false;
let lastProcessed = -1;
let lastQueues = 0;
let lastOrder = 0;
/**
 * The queues (a Cloud Tasks call each) refresh on every poll while uploads are
 * being followed — that is when they move — else every 10 s; the slideshow
 * order (up to 5,000 images) when the processed count moved, at most every 3 s.
 */
const QUEUES_IDLE_MS = 10_000;
const ORDER_MIN_MS = 3_000;
let openFromHash = () => {};
/** The admin came back to the tab: the next poll looks at every card (one may have been deleted elsewhere). */
let recheckCards = false;
/** False until the library's first page has loaded since the login. */
let gridLoaded = false;

// The sticky header's height, for the page's scroll padding (admin-header.css): an
// element focused or scrolled into view lands below the header, not under it.
new ResizeObserver(([entry]) => {
  const height = Math.ceil(entry.borderBoxSize[0].blockSize);
  document.documentElement.style.setProperty('--bar-height', `${height}px`);
}).observe(document.querySelector('.bar'));

initMenu();

/**
 * Shows the login instead of the console. The open dialogs close first (modal,
 * they would block the login form and keep the focus); a detail's unsaved
 * edits wait for the login (admin-detail.js). `ended`: the session ended
 * without this tab's asking (expiry, "Log out everywhere" elsewhere), which the
 * login's alert says — it is outside the hidden console.
 */
function showLogin({ ended = false } = {}) {
  clearTimeout(pollTimer);
  pollTimer = null;
  const kept = closeKeepingEdits();
  if ($('confirm').open) $('confirm').close();
  $('console-view').hidden = true;
  $('logout').hidden = true;
  $('logout-everywhere').hidden = true;
  $('sections').hidden = true;
  $('login-view').hidden = false;
  if (ended) {
    $('login-error').textContent = kept
      ? 'Your session has ended — log in to continue; your unsaved changes are kept.'
      : 'Your session has ended — log in to continue.';
  }
  $('password').focus();
}

/** Something changed images (an edit, a bulk action, a retry): refresh what shows them. */
function changed(ids) {
  imagesChanged(ids).catch((error) => announce(failureText(error)));
  refreshOrder().catch((error) => announce(failureText(error)));
  poll(true);
}

async function refreshAll(force = false) {
  const counts = await refreshStatus();
  const everyCard = recheckCards;
  recheckCards = false;
  const now = Date.now();
  const queues = force || uploadsBusy() || now - lastQueues >= QUEUES_IDLE_MS;
  if (queues) lastQueues = now;
  await Promise.all([
    refreshUploads(),
    gridLoaded ? refreshGrid({ everyCard }) : loadGrid(),
    refreshFailed(),
    refreshRegeneration(),
    queues ? refreshQueues() : null,
  ]);
  if (counts.processed !== lastProcessed && (force || now - lastOrder >= ORDER_MIN_MS)) {
    lastProcessed = counts.processed;
    lastOrder = now;
    await refreshOrder();
  }
}

/** A poll (or the first load) failed: no answer shows the alert; an API error is logged. */
function pollFailed(error) {
  if (isNetworkError(error)) return failureText(error);
  // An answer came: the server is there.
  serverReached();
  console.warn('refresh failed', error);
}

function poll(now = false) {
  clearTimeout(pollTimer);
  const next = () => {
    pollTimer = setTimeout(() => poll(true), uploadsBusy() ? 1000 : 3000);
  };
  if (!now) return next();
  if (document.hidden || $('console-view').hidden) return next();
  // A poll with no answer shows the alert (and polls on); the next one that gets through clears it.
  refreshAll()
    .then(serverReached)
    .catch(pollFailed)
    .finally(() => {
      if (!$('console-view').hidden) next();
    });
}

async function showConsole() {
  $('login-view').hidden = true;
  $('console-view').hidden = false;
  $('logout').hidden = false;
  $('logout-everywhere').hidden = false;
  $('sections').hidden = false;
  if (!started) {
    started = true;
    initUploads({
      accepted: (id) => showUploaded(id).catch((error) => announce(failureText(error))),
    });
    initLibrary({ changed });
    initJobs({ changed });
    initOrder({ changed });
    initRegeneration();
    openFromHash = initDetail({ changed });
  }
  lastProcessed = -1;
  gridLoaded = false;
  // A first load that got no answer shows the alert; the polls go on and load the rest.
  await Promise.all([loadGrid(), refreshAll(true)]).catch(pollFailed);
  openFromHash();
  reopenWithKeptEdits();
  poll();
}

/** The library's first page; a poll asks again until it has come. */
async function loadGrid() {
  await resetGrid();
  gridLoaded = true;
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  try {
    const body = await api('/api/admin/login', {
      method: 'POST',
      json: { password: $('password').value },
    });
    setCsrfToken(body.csrfToken);
    $('password').value = '';
    // The console shows at once (showConsole's first step) and focus goes to it then, not
    // after its data loaded: a keyboard user who moves on meanwhile keeps their place.
    const loading = showConsole();
    $('main').focus();
    // Files the ended session stopped go on now, without being chosen again (even when the
    // console's first data load fails).
    resumeAfterLogin();
    await loading;
  } catch (error) {
    $('login-error').textContent = error.status === 401 ? 'Wrong password.' : error.message;
  }
});

$('logout').addEventListener('click', async () => {
  await api('/api/admin/logout', { method: 'POST' }).catch((error) => console.warn(error));
  setCsrfToken('');
  showLogin();
});

// Every admin session ends, on every device, this one included (a session left open on a
// lost or shared device); bearer tokens are not sessions and keep working.
$('logout-everywhere').addEventListener('click', async () => {
  const sure = await confirmAction({
    title: 'Log out everywhere?',
    message:
      'Every admin session ends, on every device and browser, this one included. Admin tokens used by scripts keep working.',
    confirmLabel: 'Log out everywhere',
  });
  if (!sure) return;
  try {
    await api('/api/admin/sessions/end-all', { method: 'POST' });
  } catch (error) {
    announce(failureText(error));
    return;
  }
  setCsrfToken('');
  showLogin();
  announce('Every admin session has ended. Log in again to continue.');
});

/** The admin is back (the tab shown, the window focused): refresh now, every card included. */
function cameBack() {
  if (document.hidden || $('console-view').hidden) return;
  recheckCards = true;
  poll(true);
}
document.addEventListener('visibilitychange', cameBack);
window.addEventListener('focus', cameBack);
whenUnauthenticated(() => showLogin({ ended: true }));

// A reload or a second tab: the token this origin keeps (admin-api.js) and the cookie make
// the session, if it is still live.
api('/api/admin/session')
  .then(async (s) => {
    if (s.authenticated) await showConsole();
    else {
      setCsrfToken('');
      showLogin();
    }
  })
  .catch(() => showLogin());
