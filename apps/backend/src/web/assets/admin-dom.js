// Small DOM helpers for the admin console: element builder (text is always
// set as text, never parsed as HTML), formatters, thumbnails as <picture>
// with the smallest variants, ThumbHash placeholders, a live region.
import { thumbHashToDataURL } from '/assets/thumbhash.js';

export const $ = (id) => document.getElementById(id);

/**
 * `el('button', {type: 'button', onclick}, 'Retry')`. Strings become text
 * nodes; attributes are set with setAttribute, so nothing is ever HTML.
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export const fmtBytes = (n) =>
  n >= 1 << 20
    ? `${(n / (1 << 20)).toFixed(1)} MB`
    : n >= 1024
      ? `${(n / 1024).toFixed(0)} KB`
      : `${n} B`;

/**
 * The page's language as a locale: an English variant the browser prefers (en-GB writes
 * "5 Dec 2026"), else the page's own `lang`. Not the browser's locale itself: an ar-EG browser
 * would write Arabic month names, Arabic-Indic digits and RLMs into the console's English text.
 */
function pageLocale() {
  const page = document.documentElement.lang || 'en';
  // A BCP 47 tag starts with its language subtag.
  const language = (tag) => tag.split('-')[0].toLowerCase();
  return navigator.languages?.find((tag) => language(tag) === language(page)) ?? page;
}

/**
 * The console's one date format: date, time and the name of the time zone ("Dec 5, 2026,
 * 3:04:05 PM GMT+9" — the runbook, sqlite3 and gcloud speak UTC, so a time says its zone), in
 * the browser's time zone and 12- or 24-hour clock, with Latin digits. `timeStyle: 'long'` is
 * the medium time with the zone's short name (dateStyle and timeStyle take no timeZoneName).
 */
const DATE_TIME = new Intl.DateTimeFormat(pageLocale(), {
  dateStyle: 'medium',
  timeStyle: 'long',
  numberingSystem: 'latn',
  hourCycle: new Intl.DateTimeFormat(undefined, { hour: 'numeric' }).resolvedOptions().hourCycle,
});

/**
 * An ISO time (or anything `Date` reads) in the console's format; '—' when there is none, and
 * as it came when it is no time.
 */
export function fmtTime(s) {
  if (!s) return '—';
  const at = new Date(s);
  return Number.isNaN(at.getTime()) ? String(s) : DATE_TIME.format(at);
}

/** A time as `<time datetime="ISO">` in the console's format ({@link fmtTime}); '—' when none. */
export function timeEl(s) {
  const at = s ? new Date(s) : undefined;
  if (!at || Number.isNaN(at.getTime())) return fmtTime(s);
  return el('time', { datetime: at.toISOString() }, fmtTime(at));
}

/** A ThumbHash (base64) as a data URL, or null. */
export function placeholderUrl(b64) {
  if (!b64) return null;
  try {
    return thumbHashToDataURL(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
  } catch (error) {
    console.warn('bad placeholder', error);
    return null;
  }
}

/**
 * A thumbnail: `<picture>` with the API's AVIF/WebP/JPEG srcsets of the small
 * variants, so the browser fetches the one width `sizes` asks for; the
 * ThumbHash until it loads; a labelled box when there is nothing to show.
 */
export function thumbnail(image, sizes, alt = '') {
  const thumb = image.thumb;
  if (!thumb) {
    const ph = placeholderUrl(image.placeholder);
    if (ph) return el('img', { class: 'thumb', src: ph, alt });
    return el(
      'span',
      { class: 'thumb thumb-missing', role: alt ? 'img' : null, 'aria-label': alt || null },
      image.format ?? 'no preview',
    );
  }
  const picture = el('picture', {});
  for (const source of thumb.sources) {
    if (source.format === 'jpeg' || source.format === 'png') continue;
    picture.append(el('source', { type: source.type, srcset: source.srcset, sizes }));
  }
  const fallback = thumb.sources.find((s) => s.format === 'jpeg' || s.format === 'png');
  const img = el('img', {
    class: 'thumb',
    src: thumb.src,
    srcset: fallback?.srcset,
    sizes: fallback ? sizes : null,
    width: thumb.width,
    height: thumb.height,
    alt,
    loading: 'lazy',
    decoding: 'async',
  });
  const ph = placeholderUrl(image.placeholder);
  if (ph) {
    img.style.backgroundImage = `url("${ph}")`;
    img.style.backgroundSize = 'cover';
  }
  picture.append(img);
  return picture;
}

/** The name to show for an image: its title, else its file name. */
/**
 * A text control holding at most `max` characters as the API counts them (code points of
 * the trimmed NFC text: library/description.ts), not as `maxlength` does (UTF-16 units: an
 * emoji is two, a family emoji eleven — the browser refused to save a title the API took,
 * and cut a pasted emoji in half). Returns `control`.
 */
export function limitChars(control, max) {
  const check = () => {
    const count = [...control.value.normalize('NFC').trim()].length;
    control.setCustomValidity(
      count > max ? `At most ${max} characters, emoji included; this has ${count}.` : '',
    );
  };
  control.addEventListener('input', check);
  return control;
}

export const displayName = (image) => image.title || image.originalName || image.id;

/** What {@link announce} says at its next tick: messages of the same moment, in order. */
let pending = null;

/**
 * Says `text` to screen readers (and shows nothing). Messages that come
 * within the same tick (two uploads refused at once, then the batch's end)
 * are said together, in order: each write of the region would cut the one
 * before short.
 */
export function announce(text) {
  if (pending !== null) {
    pending = `${pending} ${text}`;
    return;
  }
  pending = text;
  const region = $('announcer');
  region.textContent = '';
  // A new text node after a tick so the same message twice is announced twice.
  setTimeout(() => {
    region.textContent = pending;
    pending = null;
  }, 50);
}

/**
 * Moves the keyboard focus to the first of `candidates` that is in the page,
 * not hidden and not disabled (a step that removed, hid or disabled the
 * focused element would otherwise drop the focus to <body>).
 */
export function focusFirst(...candidates) {
  candidates.find((e) => e?.isConnected && !e.hidden && !e.disabled)?.focus();
}

/** True when the keyboard focus is on nothing (<body>): what removed the focused element lost it. */
export const focusLost = () => !document.activeElement || document.activeElement === document.body;

/**
 * The `data-focus` keys to try, in order, when the element keyed `focused`
 * leaves `container` (a retried row leaves its table): the same kind of
 * control (the key's prefix, e.g. `retry:`) after it, any control after it,
 * then the same before it, nearest first.
 */
function keysAround(container, focused) {
  const keys = [...container.querySelectorAll('[data-focus]')].map((e) => e.dataset.focus);
  const at = keys.indexOf(focused);
  const sameKind = (key) => key.split(':')[0] === focused.split(':')[0];
  const after = keys.slice(at + 1);
  const before = keys.slice(0, Math.max(0, at)).reverse();
  return [focused, ...after.filter(sameKind), ...after, ...before.filter(sameKind), ...before];
}

/**
 * Replaces `container`'s children only when `key` changed, and gives focus
 * back to the element with the same `data-focus` value: a poll that rebuilds
 * a table must not pull the keyboard user out of it. When that element is
 * gone (its row left), the nearest keyed control takes the focus instead,
 * else `fallback()` is called — never the page's body.
 */
export function replaceIfChanged(container, key, build, fallback) {
  if (container.dataset.renderKey === key) return false;
  container.dataset.renderKey = key;
  const focused = container.contains(document.activeElement)
    ? document.activeElement?.dataset.focus
    : undefined;
  const candidates = focused ? keysAround(container, focused) : [];
  container.replaceChildren(...build());
  if (!focused) return true;
  const next = candidates
    .map((k) => container.querySelector(`[data-focus="${CSS.escape(k)}"]`))
    .find(Boolean);
  if (next) next.focus();
  else fallback?.();
  return true;
}
