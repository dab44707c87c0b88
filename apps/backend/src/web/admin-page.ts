/**
 * The admin console (`/admin`): one page in sections — status, upload,
 * library, slideshow order, jobs — with two dialogs (image detail, confirm).
 * Behaviour is in /assets/admin-*.js; this is the markup only.
 */
import { ERROR_CODES, permanenceOf } from '@slideshow/contracts';
import { UNSAFE_NAME_PATTERN } from '../upload/sanitize-name.ts';
import { head } from './page-head.ts';

/**
 * The contracts' `permanenceOf` for every code it names ("CORRUPT_IMAGE:image …
 * NOT_FOUND:original-missing"), handed to the page's scripts as a data attribute
 * (the CSP allows no inline script): the console warns that a retry of such an
 * image fails again unless the processor changed or its original is restored, by
 * the same rule `scripts/requeue-failed` skips by.
 */
const permanence = ERROR_CODES.flatMap((code) => {
  const kind = permanenceOf(code);
  return kind ? [`${code}:${kind}`] : [];
}).join(' ');

/**
 * The characters the server removes from an uploaded file's name (controls, separators, bidi
 * controls, invisible format characters: sanitize-name.ts), so an upload row shows and sends the
 * name without them before the server has answered — a name with U+202E cannot show a spoofed
 * extension, one with ESC is not refused as a malformed body. A RegExp source with no `"` or
 * `&`: nothing to escape.
 */
const unsafeName = UNSAFE_NAME_PATTERN;

/** The admin console page. */
export const adminPage = `${head('Admin · image pipeline', ['admin.css', 'admin-header.css', 'admin-panels.css'], 'admin-main.js')}
<body class="admin" data-permanence="${permanence}" data-unsafe-name="${unsafeName}">
<a class="skip-link" href="#main">Skip to content</a>
<header class="bar">
  <p class="brand">Image pipeline</p>
  <nav id="sections" aria-label="Sections" hidden>
    <a href="#upload-title">Upload</a>
    <a href="#library-title">Library</a>
    <a href="#order-title">Slideshow</a>
    <a href="#jobs-title">Jobs</a>
  </nav>
  <button type="button" id="menu-button" aria-expanded="false" aria-controls="menu">Menu</button>
  <div id="menu" class="menu">
    <a href="/">View slideshow</a>
    <button type="button" id="logout" hidden>Log out</button>
    <button type="button" id="logout-everywhere" hidden>Log out everywhere</button>
  </div>
</header>

<main id="main" tabindex="-1">
<h1 class="visually-hidden">Admin console</h1>
<section id="login-view" class="card narrow" aria-labelledby="login-title" hidden>
  <h2 id="login-title">Log in</h2>
  <form id="login-form" method="post" action="/api/admin/login">
    <label for="password">Admin password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit">Log in</button>
    <p id="login-error" class="error" role="alert"></p>
  </form>
</section>

<p id="announcer" class="visually-hidden" role="status" aria-live="polite"></p>
<div id="console-view" hidden>
  <p id="unreachable" class="unreachable" role="alert" hidden></p>

  <section class="card" aria-labelledby="status-title">
    <h2 id="status-title">Status</h2>
    <dl id="status" class="stats"></dl>
  </section>

  <section class="card" aria-labelledby="upload-title">
    <h2 id="upload-title" tabindex="-1">Upload</h2>
    <div id="dropzone" class="dropzone">
      <p>Drop images here, or</p>
      <button type="button" id="choose-files">Choose files</button>
      <input id="file-input" type="file" multiple accept="image/*" class="visually-hidden" tabindex="-1" aria-label="Images to upload">
    </div>
    <div id="batch" class="batch" hidden>
      <div class="batch-head">
        <label for="batch-progress">All files</label>
        <span id="batch-summary"></span>
      </div>
      <progress id="batch-progress" max="100" value="0"></progress>
      <div class="batch-actions">
        <button type="button" id="resume-uploads" hidden>Resume uploads</button>
        <button type="button" id="cancel-uploads">Cancel remaining uploads</button>
        <button type="button" id="clear-uploads">Clear finished</button>
      </div>
    </div>
    <ul id="uploads" class="uploads" aria-label="Uploaded files"></ul>
  </section>

  <section class="card" aria-labelledby="library-title">
    <h2 id="library-title" tabindex="-1">Library</h2>
    <form id="library-query" class="query" role="search" aria-label="Find images">
      <div class="field">
        <label for="search">Search by name or title</label>
        <input id="search" type="search" maxlength="100" autocomplete="off">
      </div>
      <div class="field">
        <label for="status-filter">Status</label>
        <select id="status-filter">
          <option value="">All</option>
          <option value="uploaded">Uploaded</option>
          <option value="queued">Queued</option>
          <option value="processing">Processing</option>
          <option value="processed">Processed</option>
          <option value="failed">Failed</option>
        </select>
      </div>
      <div class="field">
        <label for="visibility-filter">Slideshow</label>
        <select id="visibility-filter">
          <option value="">Shown and hidden</option>
          <option value="published">Shown</option>
          <option value="hidden">Hidden</option>
        </select>
      </div>
      <div class="field">
        <label for="alt-filter">Alt text</label>
        <select id="alt-filter">
          <option value="">With and without</option>
          <option value="missing">Missing alt text</option>
        </select>
      </div>
      <div class="field">
        <label for="sort">Sort</label>
        <select id="sort">
          <option value="date:desc">Newest first</option>
          <option value="date:asc">Oldest first</option>
          <option value="title:asc">Name A–Z</option>
          <option value="title:desc">Name Z–A</option>
          <option value="name:asc">File name A–Z</option>
          <option value="name:desc">File name Z–A</option>
          <option value="size:desc">Largest first</option>
          <option value="size:asc">Smallest first</option>
        </select>
      </div>
    </form>
    <div id="bulk" class="bulk" role="region" aria-label="Selected images">
      <label class="select-all"><input type="checkbox" id="select-all"> Select all shown</label>
      <span id="selection-count">0 selected</span>
      <button type="button" data-bulk="retry" disabled>Retry</button>
      <button type="button" data-bulk="hide" disabled>Hide from slideshow</button>
      <button type="button" data-bulk="publish" disabled>Show in slideshow</button>
      <button type="button" data-bulk="delete" class="danger" disabled>Delete…</button>
    </div>
    <p id="grid-summary" class="muted" role="status"></p>
    <button type="button" id="newer" hidden>Show newer images</button>
    <ul id="grid" class="grid" aria-label="Images"></ul>
    <div id="grid-end"></div>
    <button type="button" id="more" hidden>Load more</button>
  </section>

  <section class="card" aria-labelledby="order-title">
    <h2 id="order-title" tabindex="-1">Slideshow</h2>
    <p class="muted" id="order-help">Shown images, in the order the slideshow plays them (it plays the first 1,000; the rest wait, newest first). The list is one stop of the Tab key: ↑ and ↓ go from image to image, Home and End to the first and last, and Tab on to the focused image's number box and buttons. Drag an image to move it, or press Alt+↑ or Alt+↓ on it, or use its buttons, or type a new position in its number box (1 is the top). The order is saved at once.</p>
    <ol id="order" class="order" aria-describedby="order-help"></ol>
    <p id="order-empty" class="muted" hidden>No processed image is shown in the slideshow yet.</p>
  </section>

  <section class="card" aria-labelledby="jobs-title">
    <h2 id="jobs-title" tabindex="-1">Jobs</h2>
    <h3>Queues</h3>
    <div class="table-wrap" tabindex="0" role="region" aria-label="Queues">
      <table id="queues" class="stack-table">
        <thead><tr><th scope="col">Queue</th><th scope="col">State</th><th scope="col">Waiting</th><th scope="col">Running</th><th scope="col">Next due</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <p id="queues-note" class="muted"></p>
    <h3>Failed tasks</h3>
    <button type="button" id="retry-all">Retry all failed</button>
    <div class="table-wrap" tabindex="0" role="region" aria-label="Failed tasks">
      <table id="failed" class="failed stack-table">
        <thead><tr><th scope="col">Image</th><th scope="col">Reason</th><th scope="col">Attempts</th><th scope="col">Last attempt</th><th scope="col">Source</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <p id="failed-empty" class="muted">No failed tasks.</p>
    <h3 id="regen-title" tabindex="-1">Regeneration</h3>
    <p class="muted">Preset: <span id="regen-preset">—</span>. Re-makes the variants of images made with another preset version; each image keeps its old variants until its new set is complete.</p>
    <div class="actions">
      <button type="button" id="regen-dry-run">Dry run</button>
      <button type="button" id="regen-start" hidden>Start regeneration</button>
    </div>
    <p id="regen-estimate" aria-live="polite"></p>
    <div id="regen-progress" role="region" aria-label="Regeneration progress"></div>
  </section>
</div>
</main>

<dialog id="detail" aria-labelledby="detail-title">
  <div class="dialog-head">
    <h2 id="detail-title" dir="auto">Image</h2>
    <form method="dialog"><button class="close" aria-label="Close">×</button></form>
  </div>
  <div id="detail-body"></div>
</dialog>

<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-message">
  <h2 id="confirm-title">Are you sure?</h2>
  <p id="confirm-message"></p>
  <form method="dialog" class="actions">
    <button value="cancel" autofocus>Cancel</button>
    <button value="confirm" id="confirm-ok" class="danger">Confirm</button>
  </form>
</dialog>
</body>
</html>
`;
