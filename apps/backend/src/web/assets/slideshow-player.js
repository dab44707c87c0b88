// Autoplay: advances every `interval` ms while the viewer wants it playing and
// nothing holds it — the pointer over the slideshow, the keyboard focus in its
// controls, the tab in the background. With prefers-reduced-motion it starts
// paused (the viewer can still press Play). Any slide change restarts the
// countdown, so a manual step is never followed at once by an automatic one.

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
    setWanted(value, reason = 'user') {
      wanted = value;
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
