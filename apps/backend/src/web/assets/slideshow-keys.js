// The slideshow's keyboard. Single letters (K play/pause, F full screen, C
// captions, in either case) act only while the focus is on the slideshow
// itself — the stage, which the page focuses at start and a click on the
// picture focuses, a slide's caption — or on one of its buttons, never in the
// seconds selector nor on the page at large (WCAG 2.1.4 Character Key
// Shortcuts: speech input or a stray key elsewhere must not set them off).
// The named keys (←/→, Page Up/Down, Home/End, Space) work from anywhere but a
// form control, whose own keys they are (the arrows choose the seconds), and a
// focused caption keeps its scroll keys.

/** Where the letters act: the slideshow and its controls. */
const LETTERS_ACT_IN = '#stage, #controls';
/** Form controls keep every key. */
const FORM_CONTROL = 'select, input, textarea';
/** Space presses a focused button or follows a link: it plays only elsewhere. */
const SPACE_OWNER = 'button, a';
/** The keys that scroll a long caption while it has the focus (slideshow.css). */
const CAPTION_SCROLL_KEYS = new Set([
  'ArrowUp',
  'ArrowDown',
  'PageUp',
  'PageDown',
  'Home',
  'End',
  ' ',
]);

/** @type {Record<string, string>} */
const NAMED = {
  ArrowRight: 'next',
  PageDown: 'next',
  ArrowLeft: 'previous',
  PageUp: 'previous',
  Home: 'first',
  End: 'last',
};
/** @type {Record<string, string>} */
const LETTERS = { k: 'play', f: 'fullscreen', c: 'captions' };

/**
 * What a keydown asks the slideshow for — 'next', 'previous', 'first',
 * 'last', 'play' (play or pause), 'fullscreen' or 'captions' — or null when
 * the key is not the slideshow's where it was pressed.
 */
export function keyAction(event) {
  if (event.altKey || event.ctrlKey || event.metaKey) return null;
  const target = event.target instanceof Element ? event.target : null;
  const within = (selector) => target?.closest(selector) != null;
  if (within(FORM_CONTROL)) return null;
  if (within('#caption') && CAPTION_SCROLL_KEYS.has(event.key)) return null;
  if (Object.hasOwn(NAMED, event.key)) return NAMED[event.key];
  if (event.key === ' ') return within(SPACE_OWNER) ? null : 'play';
  // The letters in either case (Shift or Caps Lock).
  const letter = event.key.length === 1 ? event.key.toLowerCase() : '';
  if (!Object.hasOwn(LETTERS, letter) || !within(LETTERS_ACT_IN)) return null;
  return LETTERS[letter];
}
