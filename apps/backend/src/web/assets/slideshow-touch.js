// The slideshow's gestures on the stage. A horizontal swipe steps the slides
// (a mouse drag too). A tap on the picture — a touch, pen or mouse's main
// button that lifts where it went down — shows or hides the controls, on the
// click that ends it: the click is hit-tested again, so controls shown on
// pointerup would take it. A
// pinch zooms the page: the stage lets the browser zoom (slideshow.css,
// touch-action: pan-y pinch-zoom; WCAG 1.4.4), and only the primary pointer is
// followed, so the first finger lifted from a pinch is never taken for a swipe,
// nor for a tap. A zoomed viewer moves the picture with the finger: while the
// visual viewport is zoomed the stage lets the browser pan either way and
// nothing steps the slides.

/** Farther than this sideways (CSS pixels) is a swipe. */
const SWIPE_PX = 40;
/** Within this of where it went down, a pointer lifted is a tap. */
const TAP_PX = 10;

/** True while the viewer has zoomed in (pinch-zoom: the visual viewport is scaled). */
const zoomed = () => (window.visualViewport?.scale ?? 1) > 1.01;

/**
 * Follows the primary pointer on `stage`: `swipe(+1 | -1)` for a swipe
 * (+1 is towards the next slide), `tap(target)` for a tap or a click that
 * did not move.
 */
export function watchGestures(stage, { swipe, tap }) {
  // The primary pointer that went down on the stage, until it lifts; null when there is none
  // or a second pointer made the gesture a pinch.
  let start = null;
  // True from a tap's pointerup to its click.
  let tapped = false;
  stage.addEventListener('pointerdown', (e) => {
    if (e.isPrimary) start = { id: e.pointerId, x: e.clientX, y: e.clientY };
    tapped = false;
  });
  // A second finger (anywhere: on the controls too) makes it a pinch.
  document.addEventListener('pointerdown', (e) => {
    if (!e.isPrimary) start = null;
  });
  stage.addEventListener('pointercancel', () => {
    start = null;
  });
  stage.addEventListener('pointerup', (e) => {
    if (start === null || e.pointerId !== start.id) return;
    const dx = e.clientX - start.x;
    const dy = e.clientY - start.y;
    start = null;
    if (Math.abs(dx) > SWIPE_PX) {
      if (!zoomed()) swipe(dx < 0 ? 1 : -1);
    } else tapped = e.button === 0 && Math.hypot(dx, dy) <= TAP_PX;
  });
  stage.addEventListener('click', (e) => {
    if (tapped) tap(e.target);
    tapped = false;
  });
  // Zoomed in, one finger pans the picture both ways (slideshow.css, #stage.zoomed).
  window.visualViewport?.addEventListener('resize', () => {
    stage.classList.toggle('zoomed', zoomed());
  });
}
