// The slideshow's two display toggles, each a button and a letter key
// (slideshow-keys.js): full screen (F) and the captions (C; the choice is kept
// in localStorage).

/**
 * Sets up the Full screen button (shown only where the page may go full
 * screen) and returns the toggle; `onError` is told when the browser refuses.
 */
export function setUpFullscreen(button, onError) {
  const toggle = () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch(onError);
  };
  if (document.fullscreenEnabled) {
    button.hidden = false;
    button.addEventListener('click', toggle);
    document.addEventListener('fullscreenchange', () => {
      button.textContent = document.fullscreenElement ? 'Exit full screen' : 'Full screen';
    });
  }
  return toggle;
}

/**
 * Sets up the Captions button (aria-pressed) for the captions in `slide`,
 * restores the viewer's last choice and returns the toggle.
 */
export function setUpCaptions(button, { slide, stage }) {
  const toggle = () => {
    const on = button.getAttribute('aria-pressed') !== 'true';
    // A caption about to be hidden gives the focus to the stage, where the letter keys still
    // act (Chromium drops the focus of a hidden element to <body>, where they do not).
    if (!on && slide.contains(document.activeElement)) stage.focus({ preventScroll: true });
    button.setAttribute('aria-pressed', String(on));
    document.body.classList.toggle('no-captions', !on);
    localStorage.setItem('slideshow.captions', on ? 'on' : 'off');
  };
  button.addEventListener('click', toggle);
  if (localStorage.getItem('slideshow.captions') === 'off') toggle();
  return toggle;
}
