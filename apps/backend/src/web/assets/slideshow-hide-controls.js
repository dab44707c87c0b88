// Hiding the controls and the caption so the picture has the whole screen (on a
// phone they cover up to a third of it): a tap or a mouse click on the picture
// hides them and the next brings them back (slideshow-touch.js), and so does any
// key or the focus entering them. With a mouse they also come back when the
// pointer moves onto where they lie, along the bottom, as a desktop viewer reaches
// for them — not on any move over the picture: a hand on a mouse is never quite
// still, so that would undo the click that hid them at once. They are only made
// transparent and let the pointer through to the picture (slideshow.css,
// body.controls-off): a screen reader still finds them, and the focus that reaches
// one shows them again. Each change is announced politely.

/**
 * Creates the switch for the `controls` bar; `status` is the polite live region,
 * `onChange(hidden)` is told of each change.
 */
export function createControlsHider({ controls, status, onChange }) {
  let hidden = false;
  const set = (value) => {
    if (value === hidden) return;
    hidden = value;
    document.body.classList.toggle('controls-off', hidden);
    status.textContent = hidden
      ? 'Controls hidden. Tap or click the picture to show them.'
      : 'Controls shown.';
    onChange(hidden);
  };
  // Hidden, the bar lets the pointer through, so it gets no pointerenter: its box is asked.
  document.addEventListener('pointermove', (e) => {
    if (!hidden || e.pointerType !== 'mouse') return;
    const box = controls.getBoundingClientRect();
    const over = e.clientY >= box.top && e.clientY <= box.bottom;
    if (over && e.clientX >= box.left && e.clientX <= box.right) set(false);
  });
  return {
    /** Hides the controls when they are shown, and shows them when hidden. */
    toggle: () => set(!hidden),
    /** Shows the controls (a key, the focus in them, a slideshow with no slide). */
    show: () => set(false),
  };
}
