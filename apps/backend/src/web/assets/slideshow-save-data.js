// Save-Data: the viewer asked the browser to save data (navigator.connection
// .saveData: Chromium's data saver, a data-saver mode of the system). Under it
// the show starts paused (only at start: turning it on later pauses nothing
// the viewer is watching), preloads only the next slide and fetches about one
// image pixel per CSS pixel (slideshow.js). It is read again on the
// connection's `change` event (Network Information API; Chromium fires it when
// the connection or its saveData changes), so turning it on or off applies
// from the next preload and the next slide without a reload; the picture on
// screen, already fetched, stays. Where navigator.connection is missing
// (Firefox, Safari) it is off.

/** Follows Save-Data; `onChange(on)` is told each time it turns on or off. */
export function watchSaveData(onChange) {
  const connection = navigator.connection;
  let on = connection?.saveData === true;
  connection?.addEventListener('change', () => {
    if ((connection.saveData === true) === on) return;
    on = !on;
    onChange(on);
  });
  return {
    /** True while the viewer asks to save data. */
    get on() {
      return on;
    },
    /** The `sizes` scale (slideshow-slide.js): under Save-Data about one image pixel per CSS pixel. */
    sizeScale: () => (on ? 1 / Math.max(window.devicePixelRatio, 1) : 1),
  };
}
