/**
 * The two HTML pages. Plain server-rendered shells with stylesheets and ES
 * modules from /assets: no framework, no CDN, nothing inline, so the
 * Content-Security-Policy can forbid inline script and style outright. The
 * admin console's markup is in admin-page.ts.
 */
import { head } from './page-head.ts';

export { adminPage } from './admin-page.ts';

/** The public slideshow (`/`). */
export const slideshowPage = `${head('Slideshow', ['slideshow.css'], 'slideshow.js')}
<body class="slideshow">
<main>
  <h1 class="visually-hidden">Slideshow</h1>
  <section id="stage" tabindex="-1" aria-roledescription="carousel" aria-label="Slideshow">
    <div id="slide" class="slide" role="group" aria-roledescription="slide" aria-live="off"></div>
    <p id="empty" class="empty" hidden>No image is shown in the slideshow yet. Upload images, or show hidden ones, on the <a href="/admin">admin page</a>.</p>
    <p id="load-error" class="empty" role="alert" hidden></p>
  </section>
  <p id="controls-status" class="visually-hidden" role="status"></p>
  <nav id="controls" class="controls" aria-label="Slideshow controls">
    <button type="button" id="prev" aria-label="Previous image">‹</button>
    <button type="button" id="play" class="play" aria-label="Pause slideshow">Pause</button>
    <button type="button" id="next" aria-label="Next image">›</button>
    <span id="counter" aria-live="off"></span>
    <span id="held" class="held" hidden>Waits while you use the controls</span>
    <label class="interval" for="interval">Seconds per slide</label>
    <select id="interval">
      <option value="3">3</option>
      <option value="5" selected>5</option>
      <option value="8">8</option>
      <option value="15">15</option>
    </select>
    <button type="button" id="captions" aria-pressed="true">Captions</button>
    <button type="button" id="fullscreen" hidden>Full screen</button>
  </nav>
</main>
</body>
</html>
`;
