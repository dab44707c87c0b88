// Hiding the controls and the caption so the picture has the whole screen (on a
// phone they cover up to a third of it): a tap on the picture hides them and the
// next tap brings them back (slideshow-touch.js), and so does any key or the
// focus entering them. They are only made transparent and let taps through to the
// picture (slideshow.css, body.controls-off): a screen reader still finds them,
// and the focus that reaches one shows them again. Each change is announced politely.

/** Creates the switch; `status` is the polite live region, `onChange(hidden)` is told of each change. */
export function createControlsHider({ status, onChange }) {
  let hidden = false;
  const set = (value) => {
    if (value === hidden) return;
    hidden = value;
    document.body.classList.toggle('controls-off', hidden);
    status.textContent = hidden
      ? 'Controls hidden. Tap the picture to show them.'
      : 'Controls shown.';
    onChange(hidden);
  };
  return {
    /** Hides the controls when they are shown, and shows them when hidden. */
    toggle: () => set(!hidden),
    /** Shows the controls (a key, the focus in them, a slideshow with no slide). */
    show: () => set(false),
  };
}
