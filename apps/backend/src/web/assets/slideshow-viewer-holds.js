// The holds on autoplay that the viewer causes (slideshow-player.js): the mouse
// pointing at the controls, the keyboard's focus in them, and the keyboard's
// focus on a slide's caption, to read or scroll it. Only the keyboard's focus
// holds (only it is :focus-visible), not a tap or a click that focuses a
// button or the caption on its way: that focus stays where it landed, so it
// would hold autoplay until the viewer happened to move it — for good on a
// caption, whose focus the next caption takes over (slideshow.js show()). A
// finger's or a mouse's own hold is `hover`, on the controls only: the picture
// fills the window, so a mouse resting anywhere would hold autoplay for good.

/** The viewer's holds, with what the page says autoplay waits for. */
export const VIEWER_HOLDS = new Map([
  ['hover', 'Waits while you use the controls'],
  ['focus', 'Waits while you use the controls'],
  ['caption', 'Waits while you read the caption'],
]);

/** True while the keyboard's focus is on the caption in `slide`. */
export const readingCaption = (slide) =>
  slide.contains(document.activeElement) && document.activeElement.matches(':focus-visible');

/**
 * Holds and releases the viewer's holds on `player` as the pointer and the
 * focus move over `controls` and `slide`; `onFocusIn()` is told when the focus
 * enters either (hidden controls are shown again).
 */
export function watchViewerHolds({ controls, slide, player, onFocusIn }) {
  controls.addEventListener(
    'pointerenter',
    (e) => e.pointerType === 'mouse' && player.hold('hover'),
  );
  controls.addEventListener(
    'pointerleave',
    (e) => e.pointerType === 'mouse' && player.release('hover'),
  );
  controls.addEventListener('focusin', (e) => {
    onFocusIn();
    if (e.target.matches(':focus-visible')) player.hold('focus');
  });
  controls.addEventListener('focusout', (e) => {
    if (!controls.contains(e.relatedTarget)) player.release('focus');
  });
  // The next slide would take the caption, its scroll position and the focus away mid-sentence.
  slide.addEventListener('focusin', () => {
    onFocusIn();
    if (readingCaption(slide)) player.hold('caption');
  });
  slide.addEventListener('focusout', (e) => {
    if (!slide.contains(e.relatedTarget)) player.release('caption');
  });
}
