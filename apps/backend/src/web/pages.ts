/**
 * The two HTML pages. Plain server-rendered shells with one stylesheet and one
 * ES module each: no framework, no CDN, nothing inline, so the
 * Content-Security-Policy can forbid inline script and style outright.
 */

const head = (title: string, script: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark light">
<title>${title}</title>
<link rel="stylesheet" href="/assets/app.css">
<script type="module" src="/assets/${script}"></script>
</head>`;

/** The public slideshow (`/`). */
export const slideshowPage = `${head('Slideshow', 'slideshow.js')}
<body class="slideshow">
<main id="stage" aria-roledescription="carousel" aria-label="Slideshow" tabindex="-1">
  <div id="slide" class="slide" role="group" aria-roledescription="slide" aria-live="polite"></div>
  <p id="empty" class="empty" hidden>No processed images yet. Upload some on the <a href="/admin">admin page</a>.</p>
</main>
<nav class="controls" aria-label="Slideshow controls">
  <button type="button" id="prev" aria-label="Previous image">‹</button>
  <span id="counter" aria-live="polite"></span>
  <button type="button" id="next" aria-label="Next image">›</button>
</nav>
</body>
</html>
`;

/** The admin console (`/admin`). */
export const adminPage = `${head('Admin · image pipeline', 'admin.js')}
<body class="admin">
<header class="bar">
  <h1>Image pipeline</h1>
  <a href="/">Slideshow</a>
  <button type="button" id="logout" hidden>Log out</button>
</header>

<section id="login-view" class="card narrow" aria-labelledby="login-title" hidden>
  <h2 id="login-title">Log in</h2>
  <form id="login-form" method="post" action="/api/admin/login">
    <label for="password">Admin password</label>
    <input id="password" name="password" type="password" autocomplete="current-password" required>
    <button type="submit">Log in</button>
    <p id="login-error" class="error" role="alert"></p>
  </form>
</section>

<div id="console-view" hidden>
  <section class="card" aria-labelledby="status-title">
    <h2 id="status-title">Status</h2>
    <dl id="status" class="stats"></dl>
  </section>

  <section class="card" aria-labelledby="upload-title">
    <h2 id="upload-title">Upload</h2>
    <div id="dropzone" class="dropzone">
      <p>Drop images here, or</p>
      <label class="button" for="file-input">Choose files</label>
      <input id="file-input" type="file" multiple accept="image/*" class="visually-hidden">
    </div>
    <div id="batch" hidden>
      <label for="batch-progress">All files</label>
      <progress id="batch-progress" max="100" value="0"></progress>
    </div>
    <ul id="uploads" class="uploads" aria-live="polite"></ul>
  </section>

  <section class="card" aria-labelledby="images-title">
    <h2 id="images-title">Images</h2>
    <label for="status-filter">Show</label>
    <select id="status-filter">
      <option value="">all</option>
      <option>queued</option>
      <option>processing</option>
      <option>processed</option>
      <option>failed</option>
    </select>
    <ul id="grid" class="grid"></ul>
    <button type="button" id="more" hidden>Load more</button>
  </section>

  <section class="card" aria-labelledby="failed-title">
    <h2 id="failed-title">Failed tasks</h2>
    <button type="button" id="retry-all">Retry all</button>
    <div class="table-wrap">
      <table id="failed">
        <thead><tr><th scope="col">Image</th><th scope="col">Error</th><th scope="col">Message</th><th scope="col">Attempts</th><th scope="col">Last attempt</th><th scope="col">Source</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>

  <dialog id="detail" aria-labelledby="detail-title">
    <h2 id="detail-title">Image</h2>
    <div id="detail-body"></div>
    <form method="dialog"><button>Close</button></form>
  </dialog>
</div>
</body>
</html>
`;
