// The admin console: login, uploads with per-file and batch progress, a live
// grid of images, image detail, failed tasks with retry, and the status panel.
// Cookie-authenticated writes carry the session's CSRF token in X-CSRF-Token.
import { RESUMABLE_THRESHOLD, uploadResumable } from '/assets/resumable-upload.js';
import { thumbHashToDataURL } from '/assets/thumbhash.js';

const $ = (id) => document.getElementById(id);
let csrfToken = '';
let pollTimer = null;

/** Imaging's and the API's error codes, in words an admin understands. */
const WORDS = {
  EMPTY_FILE: 'The file is empty.',
  FILE_TOO_LARGE: 'The file is larger than the upload limit.',
  PAYLOAD_TOO_LARGE: 'The file is larger than the upload limit.',
  UNSUPPORTED_FORMAT:
    'This is not an image format we accept (JPEG, PNG, WebP, GIF, AVIF, TIFF, HEIC).',
  UNSUPPORTED_MEDIA_TYPE:
    'This is not an image format we accept (JPEG, PNG, WebP, GIF, AVIF, TIFF, HEIC).',
  SVG_NOT_ALLOWED: 'SVG images are not accepted, because they can carry scripts.',
  HEIC_NOT_SUPPORTED: 'HEIC images cannot be decoded here; export the photo as JPEG.',
  TOO_MANY_PIXELS: 'The image has too many pixels.',
  TOO_MANY_FRAMES: 'The animation has too many frames.',
  DIMENSIONS_TOO_LARGE: 'The image is too wide or too tall.',
  CORRUPT_IMAGE: 'The image is damaged or incomplete and cannot be decoded.',
  DECODER_UNAVAILABLE:
    'The processor could not load the decoder for this format (a deployment problem, not the image); retry once it is fixed.',
  UNAUTHENTICATED: 'Your session has ended; log in again.',
  CSRF_REJECTED: 'The request was refused as cross-site; reload the page.',
  RATE_LIMITED: 'Too many attempts; wait a minute and try again.',
  JOB_FAILED: 'The processing job failed on every attempt.',
  TIMEOUT: 'Processing took too long.',
  STUCK: 'Processing never finished.',
};
const words = (error) =>
  `${WORDS[error?.code] ?? error?.message ?? 'Unknown error.'}${error?.code ? ` (${error.code})` : ''}`;

async function api(path, options = {}) {
  const headers = new Headers(options.headers);
  if (options.method && options.method !== 'GET') headers.set('X-CSRF-Token', csrfToken);
  if (options.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    options.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, { ...options, headers, credentials: 'same-origin' });
  const body = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (response.status === 401) showLogin();
  if (!response.ok)
    throw Object.assign(new Error(words(body.error)), { body, status: response.status });
  return body;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

const fmtBytes = (n) =>
  n >= 1 << 20
    ? `${(n / (1 << 20)).toFixed(1)} MB`
    : n >= 1024
      ? `${(n / 1024).toFixed(0)} KB`
      : `${n} B`;
const fmtTime = (s) => (s ? new Date(s).toLocaleString() : '—');
const placeholder = (b64) => {
  try {
    return b64 ? thumbHashToDataURL(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))) : null;
  } catch {
    return null;
  }
};

// ---------- login ----------
function showLogin() {
  clearInterval(pollTimer);
  $('console-view').hidden = true;
  $('logout').hidden = true;
  $('login-view').hidden = false;
  $('password').focus();
}

async function showConsole() {
  $('login-view').hidden = true;
  $('console-view').hidden = false;
  $('logout').hidden = false;
  await refresh();
  clearInterval(pollTimer);
  pollTimer = setInterval(() => refresh().catch(() => {}), 2000);
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  $('login-error').textContent = '';
  try {
    const body = await api('/api/admin/login', {
      method: 'POST',
      json: { password: $('password').value },
    });
    csrfToken = body.csrfToken ?? '';
    $('password').value = '';
    await showConsole();
  } catch (error) {
    $('login-error').textContent = error.status === 401 ? 'Wrong password.' : error.message;
  }
});

$('logout').addEventListener('click', async () => {
  await api('/api/admin/logout', { method: 'POST' }).catch(() => {});
  csrfToken = '';
  showLogin();
});

// ---------- upload ----------
const uploads = [];
function updateBatch() {
  const total = uploads.reduce((s, u) => s + u.total, 0);
  const loaded = uploads.reduce((s, u) => s + u.loaded, 0);
  $('batch').hidden = uploads.length === 0;
  $('batch-progress').value = total ? Math.round((loaded / total) * 100) : 0;
}

function uploadOne(file) {
  const bar = el('progress', {
    max: 100,
    value: 0,
    'aria-label': `Upload progress of ${file.name}`,
  });
  const msg = el('span', { class: 'msg' }, 'waiting…');
  const item = el(
    'li',
    {},
    el('span', { class: 'name' }, file.name),
    el('span', {}, fmtBytes(file.size)),
    bar,
    msg,
  );
  $('uploads').prepend(item);
  const state = { total: file.size || 1, loaded: 0 };
  uploads.push(state);
  updateBatch();
  return new Promise((resolve) => {
    const progress = (loaded, total) => {
      state.loaded = Math.min(loaded, state.total);
      bar.value = Math.round((loaded / total) * 100);
      msg.textContent = 'uploading…';
      updateBatch();
    };
    const settle = (status, body) => {
      state.loaded = state.total;
      bar.value = 100;
      updateBatch();
      const refused = body.error ?? body.images?.find((i) => i.error)?.error;
      if (status >= 400 || status === 0 || refused) {
        item.classList.add('refused');
        msg.textContent = `Refused: ${words(refused ?? { message: `HTTP ${status}` })}`;
      } else {
        const image = body.images?.[0];
        item.classList.add('accepted');
        msg.textContent = image?.duplicate
          ? 'Already uploaded (same file).'
          : 'Accepted, queued for processing.';
      }
      resolve();
    };
    // Large files go through a resumable upload session (resumable-upload.js).
    if (file.size > RESUMABLE_THRESHOLD) {
      uploadResumable(file, {
        csrfToken,
        onProgress: (loaded) => progress(loaded, file.size),
      }).then(
        ({ status, body }) => settle(status, body),
        () =>
          settle(0, { error: { message: 'Network error: the upload did not reach the server.' } }),
      );
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/admin/upload');
    xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) progress(e.loaded, e.total);
    });
    xhr.addEventListener('load', () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {}
      settle(xhr.status, body);
    });
    xhr.addEventListener('error', () => {
      item.classList.add('refused');
      msg.textContent = 'Network error: the upload did not reach the server.';
      resolve();
    });
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

async function uploadAll(files) {
  const queue = [...files];
  const workers = Array.from({ length: Math.min(3, queue.length) }, async () => {
    while (queue.length) await uploadOne(queue.shift());
  });
  await Promise.all(workers);
  await refresh();
}

$('file-input').addEventListener('change', (e) => {
  uploadAll(e.target.files);
  e.target.value = '';
});
const zone = $('dropzone');
zone.addEventListener('dragover', (e) => {
  e.preventDefault();
  zone.classList.add('over');
});
zone.addEventListener('dragleave', () => zone.classList.remove('over'));
zone.addEventListener('drop', (e) => {
  e.preventDefault();
  zone.classList.remove('over');
  uploadAll(e.dataTransfer.files);
});

// ---------- status, grid, failed tasks ----------
async function refreshStatus() {
  const s = await api('/status');
  const counts = s.counts ?? {};
  const items = [
    ['Queued', (counts.uploaded ?? 0) + (counts.queued ?? 0)],
    ['Processing', counts.processing ?? 0],
    ['Processed', counts.processed ?? 0],
    ['Failed', counts.failed ?? 0],
    ['Outbox', s.outbox?.pending ?? 0],
    [
      'Oldest waiting',
      s.oldestWaitingAgeSeconds ? `${Math.round(s.oldestWaitingAgeSeconds)} s` : '—',
    ],
    ['Failures, last hour', s.failuresLastHour ?? 0],
  ];
  $('status').replaceChildren(
    ...items.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, String(v)))),
  );
}

function thumbOf(image) {
  const small =
    (image.variants ?? []).find((v) => v.format === 'webp' && v.url) ?? (image.variants ?? [])[0];
  return small?.url ?? placeholder(image.placeholder);
}

async function refreshGrid() {
  const status = $('status-filter').value;
  const body = await api(`/api/admin/images?limit=60${status ? `&status=${status}` : ''}`);
  const cards = (body.images ?? []).map((image) => {
    const src = thumbOf(image);
    return el(
      'li',
      { 'data-id': image.id, 'data-status': image.status },
      el(
        'button',
        {
          type: 'button',
          onclick: () => openDetail(image.id),
          'aria-label': `${image.originalName ?? image.id}: ${image.status}`,
        },
        src ? el('img', { class: 'thumb', src, alt: '' }) : el('span', { class: 'thumb' }),
        el(
          'span',
          { class: 'meta' },
          el('span', {}, (image.originalName ?? image.id).slice(0, 18)),
          el('span', { class: `badge ${image.status}` }, image.status),
        ),
      ),
    );
  });
  $('grid').replaceChildren(...cards);
}

async function retry(id) {
  await api(`/api/admin/images/${encodeURIComponent(id)}/retry`, { method: 'POST' });
  await refresh();
}

async function refreshFailed() {
  const body = await api('/api/admin/failed-tasks?unresolved=true');
  const rows = (body.failedTasks ?? []).map((f) =>
    el(
      'tr',
      { 'data-id': f.imageId },
      el('td', {}, el('code', {}, f.imageId)),
      el('td', {}, f.errorCode ?? ''),
      el(
        'td',
        {},
        WORDS[f.errorCode]
          ? `${WORDS[f.errorCode]} ${f.errorMessage ?? ''}`
          : (f.errorMessage ?? ''),
      ),
      el('td', {}, String(f.attemptCount ?? '')),
      el('td', {}, fmtTime(f.lastAttempt)),
      el('td', {}, f.source ?? ''),
      el(
        'td',
        {},
        el(
          'button',
          { type: 'button', onclick: () => retry(f.imageId), 'aria-label': `Retry ${f.imageId}` },
          'Retry',
        ),
      ),
    ),
  );
  $('failed')
    .querySelector('tbody')
    .replaceChildren(...rows);
  $('retry-all').disabled = rows.length === 0;
}

$('retry-all').addEventListener('click', async () => {
  await api('/api/admin/failed-tasks/retry', { method: 'POST', json: {} });
  await refresh();
});
$('status-filter').addEventListener('change', () => refreshGrid());

async function refresh() {
  await Promise.all([refreshStatus(), refreshGrid(), refreshFailed()]);
}

// ---------- detail ----------
async function openDetail(id) {
  const image = await api(`/api/images/${encodeURIComponent(id)}`);
  const ph = placeholder(image.placeholder);
  const rows = (image.variants ?? []).map((v) =>
    el(
      'tr',
      {},
      el('td', {}, v.format),
      el('td', {}, `${v.width}×${v.height}`),
      el('td', {}, fmtBytes(v.bytes)),
      el('td', {}, v.url ? el('a', { href: v.url }, v.suffix ?? 'open') : (v.suffix ?? '')),
    ),
  );
  const timings = Object.entries(image.timings ?? {})
    .map(([k, v]) => `${k} ${Math.round(v)} ms`)
    .join(', ');
  $('detail-title').textContent = image.originalName ?? image.id;
  $('detail-body').replaceChildren(
    el(
      'div',
      { class: 'detail-grid' },
      el(
        'div',
        {},
        ph ? el('img', { src: ph, alt: 'ThumbHash placeholder' }) : 'No placeholder yet',
      ),
      el(
        'dl',
        {},
        el('dt', {}, 'Status'),
        el('dd', {}, image.status),
        el('dt', {}, 'Size'),
        el('dd', {}, image.width ? `${image.width}×${image.height} ${image.format ?? ''}` : '—'),
        el('dt', {}, 'Dominant colour'),
        el(
          'dd',
          {},
          image.dominantColor
            ? el('span', { class: 'swatch', 'data-color': image.dominantColor })
            : '—',
          ` ${image.dominantColor ?? ''}`,
        ),
        el('dt', {}, 'Attempts'),
        el('dd', {}, String(image.attempts ?? 0)),
        el('dt', {}, 'Generation'),
        el('dd', {}, String(image.generation ?? 0)),
        el('dt', {}, 'Timings'),
        el('dd', {}, timings || '—'),
        el('dt', {}, 'Workflow execution'),
        el('dd', {}, image.executionState?.state ?? '—'),
        el('dt', {}, 'Last error'),
        el(
          'dd',
          {},
          image.failedTask
            ? words({ code: image.failedTask.errorCode, message: image.failedTask.errorMessage })
            : '—',
        ),
      ),
    ),
    el(
      'table',
      {},
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', {}, 'Format'),
          el('th', {}, 'Size'),
          el('th', {}, 'Bytes'),
          el('th', {}, 'File'),
        ),
      ),
      el('tbody', {}, ...rows),
    ),
  );
  for (const swatch of $('detail-body').querySelectorAll('.swatch'))
    swatch.style.backgroundColor = swatch.dataset.color;
  $('detail').showModal();
}

// ---------- start ----------
api('/api/admin/session')
  .then(async (s) => {
    if (s.authenticated) {
      csrfToken = s.csrfToken ?? '';
      await showConsole();
    } else showLogin();
  })
  .catch(() => showLogin());
