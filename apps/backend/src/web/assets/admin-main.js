// The admin console's entry: login and logout, then the sections (upload,
// library, slideshow order, jobs) and one poll loop that keeps them current —
// faster while uploads are being followed, paused while the tab is hidden.
import { api, setCsrfToken, whenUnauthenticated } from './admin-api.js';
import { initDetail } from './admin-detail.js';
import { $, announce } from './admin-dom.js';
import { initJobs, refreshFailed, refreshQueues, refreshStatus } from './admin-jobs.js';
import {
  imagesChanged,
  initLibrary,
  refreshGrid,
  resetGrid,
  showUploaded,
} from './admin-library.js';
import { initOrder, refreshOrder } from './admin-order.js';
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

// The sticky header's height, for the page's scroll padding (admin.css): an
// element focused or scrolled into view lands below the header, not under it.
new ResizeObserver(([entry]) => {
  const height = Math.ceil(entry.borderBoxSize[0].blockSize);
  document.documentElement.style.setProperty('--bar-height', `${height}px`);
}).observe(document.querySelector('.bar'));

function showLogin() {
  clearTimeout(pollTimer);
  pollTimer = null;
  $('console-view').hidden = true;
  $('logout').hidden = true;
  $('sections').hidden = true;
  $('login-view').hidden = false;
  $('password').focus();
}

/** Something changed images (an edit, a bulk action, a retry): refresh what shows them. */
function changed(ids) {
  imagesChanged(ids).catch((error) => announce(error.message));
  refreshOrder().catch((error) => announce(error.message));
  poll(true);
}

async function refreshAll(force = false) {
  const counts = await refreshStatus();
  const now = Date.now();
  const queues = force || uploadsBusy() || now - lastQueues >= QUEUES_IDLE_MS;
  if (queues) lastQueues = now;
  await Promise.all([
    refreshUploads(),
    refreshGrid(),
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

function poll(now = false) {
  clearTimeout(pollTimer);
  const next = () => {
    pollTimer = setTimeout(() => poll(true), uploadsBusy() ? 1000 : 3000);
  };
  if (!now) return next();
  if (document.hidden || $('console-view').hidden) return next();
  refreshAll()
    .catch((error) => console.warn('refresh failed', error))
    .finally(() => {
      if (!$('console-view').hidden) next();
    });
}

async function showConsole() {
  $('login-view').hidden = true;
  $('console-view').hidden = false;
  $('logout').hidden = false;
  $('sections').hidden = false;
  if (!started) {
    started = true;
    initUploads({ accepted: (id) => showUploaded(id).catch((error) => announce(error.message)) });
    initLibrary({ changed });
    initJobs({ changed });
    initOrder({ changed });
    initRegeneration();
    openFromHash = initDetail({ changed });
  }
  lastProcessed = -1;
  await Promise.all([resetGrid(), refreshAll(true)]);
  openFromHash();
  poll();
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

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && !$('console-view').hidden) poll(true);
});
whenUnauthenticated(showLogin);

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
