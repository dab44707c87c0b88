// Autoplay: advances every `interval` ms while the viewer wants it playing and
// nothing holds it — the pointer over the controls, the keyboard focus in
// them, the tab in the background. Pressing Play lifts the pointer's and the
// focus's holds (they come back when the pointer or the focus next enters the
// controls): the click that asks for play is itself over the controls, and
// focuses its button (the rotation control of the APG carousel pattern). With
// prefers-reduced-motion it starts paused (the viewer can still press Play).
// Any slide change restarts the countdown, so a manual step is never followed
// at once by an automatic one.

/** The holds the viewer's Play lifts: their own pointer and keyboard focus on the controls. */
const LIFTED_BY_PLAY = ['hover', 'focus'];

/** Creates the player; `advance()` is called for each automatic step. */
export function createPlayer({ intervalMs, wantsPlay, advance, onChange }) {
  let interval = intervalMs;
  let wanted = wantsPlay;
  const holds = new Set();
  let timer = null;

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
      if (value && reason === 'user') for (const hold of LIFTED_BY_PLAY) holds.delete(hold);
      changed(reason);
    },
    hold(reason) {
      if (holds.has(reason)) return;
      holds.add(reason);
      changed(reason);
    },
    release(reason) {
      if (!holds.delete(reason)) return;
      changed(reason);
    },
    setInterval(ms) {
      interval = ms;
      schedule();
    },
    /** A slide was shown (by autoplay or by hand): count the interval from now. */
    shown() {
      schedule();
    },
  };
}
