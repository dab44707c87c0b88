// Autoplay: advances every `interval` ms while the viewer wants it playing and
// nothing holds it — the pointer over the controls, the keyboard focus in
// them, the tab in the background, the slide's picture still loading. Pressing
// Play lifts the pointer's and the focus's holds (they come back when the
// pointer or the focus next enters the controls): the click that asks for play
// is itself over the controls, and focuses its button (the rotation control of
// the APG carousel pattern). With prefers-reduced-motion it starts paused (the
// viewer can still press Play). Any slide change restarts the countdown, so a
// manual step is never followed at once by an automatic one, and the countdown
// starts when the slide's picture has loaded (or failed), so on a slow link
// each picture is on screen for the whole interval — but a picture that never
// answers holds it for LOADING_CAP_MS at most.

/** The holds the viewer's Play lifts: their own pointer and keyboard focus on the controls. */
const LIFTED_BY_PLAY = ['hover', 'focus'];
/**
 * How long a picture still loading holds autoplay at most: a request that
 * neither loads nor fails (a stalled connection) must not stop the show for
 * good. 30 s is several times what a phone-sized variant takes on a 400 kbit/s
 * link (100–250 KB: 2–5 s).
 */
const LOADING_CAP_MS = 30_000;

/** Creates the player; `advance()` is called for each automatic step. */
export function createPlayer({ intervalMs, wantsPlay, advance, onChange }) {
  let interval = intervalMs;
  let wanted = wantsPlay;
  const holds = new Set();
  let timer = null;
  let loadingCap = null;

  const playing = () => wanted && holds.size === 0;
  const schedule = () => {
    clearTimeout(timer);
    timer = null;
    if (playing()) timer = setTimeout(() => advance(), interval);
  };
  const changed = (reason) => {
    schedule();
    onChange({ playing: playing(), wanted, holds: [...holds], reason });
  };
  /** Holds autoplay for `reason` until it is released (each reason holds once). */
  const hold = (reason) => {
    if (holds.has(reason)) return;
    holds.add(reason);
    changed(reason);
  };
  /** Lifts the hold of `reason`; autoplay goes on once no hold is left. */
  const release = (reason) => {
    if (!holds.delete(reason)) return;
    changed(reason);
  };
  /** The slide's picture loaded or failed (or LOADING_CAP_MS passed): the interval counts from now. */
  const loaded = () => {
    clearTimeout(loadingCap);
    release('loading');
  };

  return {
    /** True while slides advance by themselves. */
    get playing() {
      return playing();
    },
    /** What the viewer asked for (the Play/Pause button's state). */
    get wanted() {
      return wanted;
    },
    /** Play (`true`) or pause as the viewer asks; a Play lifts the hover and focus holds. */
    setWanted(value, reason = 'user') {
      wanted = value;
      if (value && reason === 'user') for (const lifted of LIFTED_BY_PLAY) holds.delete(lifted);
      changed(reason);
    },
    hold,
    release,
    setInterval(ms) {
      interval = ms;
      schedule();
    },
    /** A slide was shown (by autoplay or by hand): count the interval from now (or its load). */
    shown() {
      schedule();
    },
    /** The slide's picture is loading: hold until `loaded()`, or LOADING_CAP_MS. */
    loading() {
      clearTimeout(loadingCap);
      loadingCap = setTimeout(loaded, LOADING_CAP_MS);
      hold('loading');
    },
    loaded,
  };
}
