// The public slideshow: published images in the admin's order, full screen in
// <picture> elements; the placeholder shows until the image has loaded; the
// neighbours are preloaded once it has (so on a slow link they never compete
// with it). Autoplay with a visible Play/Pause and interval, counted from when
// the picture has loaded, held while the mouse or the keyboard focus is on the
// controls (said above them), off at first under prefers-reduced-motion and
// under Save-Data (an animated image shows its still poster while the show is
// paused); keyboard (←/→, Home/End, Space or K to play/pause, F full screen, C
// captions, in either case; the letters only with the focus on the slideshow or
// its buttons: slideshow-keys.js), swipe, pinch-zoom and a tap or a click on
// the picture that hides the controls (slideshow-touch.js,
// slideshow-hide-controls.js), full screen,
// captions, and a link #slide=<id> (followed on
// load and when the hash changes; optionally &interval=<seconds> and
// &refresh=<seconds>). Under Save-Data (navigator.connection.saveData) the show
// starts paused, preloads only the next slide and fetches about one image pixel
// per CSS pixel; turned on or off later, it applies from the next preload and
// slide (slideshow-save-data.js). The list is fetched again every `refresh` seconds, when
// the tab comes back into view, when the browser is back online and when an
// image fails to load, and merged in place (slideshow-list.js); a slide whose
// image failed is shown again after the next list that did not ask because of
// that failure (the network was down, not the image deleted). Events are recorded on window.slideshowEvents so
// the browser tests can check their order.
import { thumbHashToDataURL } from '/assets/thumbhash.js';
import { createControlsHider } from './slideshow-hide-controls.js';
import { keyAction } from './slideshow-keys.js';
import { createListFetcher, oneAtATime, placeAfterChange } from './slideshow-list.js';
import { createPlayer } from './slideshow-player.js';
import { watchSaveData } from './slideshow-save-data.js';
import {
  altFor,
  buildCaption,
  buildPicture,
  buildPlaceholder,
  placeholderUrl,
  preload,
  setStill,
} from './slideshow-slide.js';
import { setUpCaptions, setUpFullscreen } from './slideshow-toggles.js';
import { watchGestures } from './slideshow-touch.js';
import { readingCaption, VIEWER_HOLDS, watchViewerHolds } from './slideshow-viewer-holds.js';

const events = [];
window.slideshowEvents = events;
const $ = (id) => document.getElementById(id);
const slide = $('slide');
const stage = $('stage');
const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)');
// Turned on or off while the show runs: the neighbours are fetched again as it asks.
const saveData = watchSaveData((on) => {
  events.push({ type: 'save-data', on, t: performance.now() });
  if (settled) preloadNeighbours();
});
const hash = new URLSearchParams(location.hash.slice(1));
const within = (min, max, ...values) => values.find((v) => v >= min && v <= max);
const intervalSeconds =
  within(2, 60, Number(hash.get('interval')), Number(localStorage.getItem('slideshow.interval'))) ??
  5;
// A few minutes by default: an unchanged list is a 304 with no body.
const refreshSeconds = within(1, 3600, Number(hash.get('refresh'))) ?? 120;
// The settings the link was opened with stay in the link as the slides change.
const linkSettings = `${hash.has('interval') ? `&interval=${intervalSeconds}` : ''}${
  hash.has('refresh') ? `&refresh=${refreshSeconds}` : ''
}`;
const fetchList = createListFetcher('/api/slideshow');
let images = [];
let index = 0;
// False until a list has been received: the first one opens the linked slide.
let listed = false;
// Held so the detached preloads are not collected before they have fetched.
let preloaded = [];
// The image of the slide on screen when it failed to load, else null.
let failedId = null;
// Counts the slides shown: a load or error of a slide no longer on screen is told apart by it.
let shownCount = 0;
// True once the picture on screen has loaded or failed: then its neighbours may be fetched.
let settled = false;

const player = createPlayer({
  intervalMs: intervalSeconds * 1000,
  wantsPlay: !reducedMotion.matches && !saveData.on,
  advance: () => show(index + 1, 'autoplay'),
  onChange: (state) => {
    const button = $('play');
    button.textContent = state.wanted ? 'Pause' : 'Play';
    button.setAttribute('aria-label', state.wanted ? 'Pause slideshow' : 'Play slideshow');
    // Announce slides and the counter only when they do not change by themselves (APG carousel);
    // a picture loading holds the countdown, not the rotation.
    const rotating = state.wanted && state.holds.every((hold) => hold === 'loading');
    slide.setAttribute('aria-live', rotating ? 'off' : 'polite');
    $('counter').setAttribute('aria-live', rotating ? 'off' : 'polite');
    const held = state.holds.find((hold) => VIEWER_HOLDS.has(hold));
    $('held').hidden = !state.wanted || held === undefined;
    if (held !== undefined) $('held').textContent = VIEWER_HOLDS.get(held);
    // Paused (by the viewer, or at first under reduced motion): an animated image stands still.
    setStill(slide.querySelector('picture'), !state.wanted);
    events.push({ type: 'autoplay', ...state, t: performance.now() });
  },
});

// A tap or a click on the picture hides the controls and the caption, and the next shows them.
const hider = createControlsHider({
  controls: $('controls'),
  status: $('controls-status'),
  onChange: (hidden) => events.push({ type: 'controls', hidden, t: performance.now() }),
});

function show(i, cause = 'user') {
  if (images.length === 0) return;
  index = (i + images.length) % images.length;
  const image = images[index];
  failedId = null;
  const shownAs = ++shownCount;
  settled = false;
  // The countdown starts once the picture is there (player.loaded, below).
  player.loading();
  // The caption had the focus (to scroll it): the next one takes it, else the stage, so
  // the focus stays on the slideshow (where its letter keys act: slideshow-keys.js).
  const captionFocused = slide.contains(document.activeElement);
  slide.replaceChildren();
  slide.style.backgroundColor = image.dominantColor ?? '#000';
  const figure = document.createElement('figure');
  const url = placeholderUrl(image, thumbHashToDataURL, events);
  if (url) {
    figure.append(buildPlaceholder(url));
    events.push({ type: 'placeholder-shown', id: image.id, t: performance.now() });
  }
  const { picture, img } = buildPicture(image, {
    alt: altFor(image, index, images.length),
    still: !player.wanted,
    scale: saveData.sizeScale(),
  });
  let loaded = false;
  // Called by the load event and, for an image already complete when shown, at once: record it once.
  const done = () => {
    if (loaded) return;
    loaded = true;
    img.classList.add('loaded');
    events.push({
      type: 'image-loaded',
      id: image.id,
      currentSrc: img.currentSrc,
      t: performance.now(),
    });
    figure.querySelector('.placeholder')?.remove();
    if (shownAs === shownCount) settle();
  };
  img.addEventListener('load', done, { once: true });
  // A deleted image's variants answer 404: ask for the list again, which moves on from it.
  img.addEventListener(
    'error',
    () => {
      events.push({ type: 'image-error', id: image.id, t: performance.now() });
      if (images[index]?.id === image.id) failedId = image.id;
      if (shownAs === shownCount) settle();
      refresh('image-error');
    },
    { once: true },
  );
  figure.append(picture);
  const caption = buildCaption(image);
  if (caption) figure.append(caption);
  slide.append(figure);
  if (captionFocused) (caption ?? stage).focus({ preventScroll: true });
  // Removing the focused caption may fire no focusout: the caption hold follows the focus here.
  if (readingCaption(slide)) player.hold('caption');
  else player.release('caption');
  if (img.complete && img.naturalWidth > 0) done();
  describePosition();
  history.replaceState(null, '', `#slide=${encodeURIComponent(image.id)}${linkSettings}`);
  events.push({ type: 'shown', id: image.id, index, cause, t: performance.now() });
  player.shown();
}

/** The picture on screen has loaded or failed: count the interval from now, fetch the neighbours. */
function settle() {
  settled = true;
  player.loaded();
  preloadNeighbours();
}

/** The counter, the slide's label and the alt text (its fallback names the position), for `images[index]`. */
function describePosition() {
  slide.setAttribute('aria-label', `${index + 1} of ${images.length}`);
  $('counter').textContent = `${index + 1} / ${images.length}`;
  const img = slide.querySelector('picture img');
  if (img) img.alt = altFor(images[index], index, images.length);
}

/** Fetches the next slide's picture and the previous one's (only the next under Save-Data). */
function preloadNeighbours() {
  if (images.length < 2) return;
  const next = images[(index + 1) % images.length];
  const prev = images[(index - 1 + images.length) % images.length];
  const options = { still: !player.wanted, scale: saveData.sizeScale() };
  const both = prev !== next && !saveData.on;
  preloaded = [preload(next, options), ...(both ? [preload(prev, options)] : [])];
  events.push({ type: 'preload', id: next.id, held: preloaded.length });
}

const toggleFullscreen = setUpFullscreen($('fullscreen'), (error) =>
  events.push({ type: 'fullscreen-error', message: String(error) }),
);
const toggleCaptions = setUpCaptions($('captions'), { slide, stage });
$('next').addEventListener('click', () => show(index + 1));
$('prev').addEventListener('click', () => show(index - 1));
$('play').addEventListener('click', () => player.setWanted(!player.wanted));
const select = $('interval');
if (![...select.options].some((o) => Number(o.value) === intervalSeconds)) {
  select.append(new Option(String(intervalSeconds), String(intervalSeconds)));
}
select.value = String(intervalSeconds);
select.addEventListener('change', () => {
  localStorage.setItem('slideshow.interval', select.value);
  player.setInterval(Number(select.value) * 1000);
});

/** What each of keyAction's answers does. */
const KEY_ACTIONS = {
  next: () => show(index + 1),
  previous: () => show(index - 1),
  first: () => show(0),
  last: () => show(images.length - 1),
  play: () => player.setWanted(!player.wanted),
  fullscreen: toggleFullscreen,
  captions: toggleCaptions,
};

document.addEventListener('keydown', (e) => {
  // Any key brings hidden controls back (a Tab then reaches them, seen).
  hider.show();
  // With no slide there is nothing to step, play or show full screen.
  const action = images.length === 0 ? null : keyAction(e);
  if (action === null) return;
  KEY_ACTIONS[action]();
  e.preventDefault();
});

// The viewer's holds (slideshow-viewer-holds.js); a background tab holds autoplay too.
const controls = $('controls');
watchViewerHolds({ controls, slide, player, onFocusIn: () => hider.show() });
// The caption sits above the controls, which wrap onto more lines on a narrow or zoomed
// screen, and above the label saying autoplay waits, which lies on top of them: their
// measured height keeps the caption clear of both (slideshow.css, --controls-height).
const held = $('held');
const measure = new ResizeObserver(() => {
  const height = controls.offsetHeight + (held.hidden ? 0 : held.offsetHeight);
  document.documentElement.style.setProperty('--controls-height', `${height}px`);
});
measure.observe(controls);
measure.observe(held);
document.addEventListener('visibilitychange', () => {
  if (document.hidden) return player.hold('hidden');
  player.release('hidden');
  refresh('visible');
});
reducedMotion.addEventListener('change', () => {
  if (reducedMotion.matches) player.setWanted(false, 'reduced-motion');
});

watchGestures(stage, {
  swipe: (step) => show(index + step),
  // A tap or a click on the picture (not on its caption, which a finger scrolls or rests on
  // to read, and a mouse selects text in).
  tap: (target) => {
    if (images.length > 0 && !target.closest('figcaption')) hider.toggle();
  },
});

/** The list changed (or is the first): merge it without disrupting the slide on screen. */
function applyList(next, cause) {
  const first = !listed;
  const before = images;
  listed = true;
  images = next;
  $('load-error').hidden = true;
  $('empty').hidden = images.length > 0;
  $('controls').hidden = images.length === 0;
  events.push({
    type: 'loaded-list',
    count: images.length,
    cause,
    reducedMotion: reducedMotion.matches,
    saveData: saveData.on,
    t: performance.now(),
  });
  // One slide (or none) has nothing to advance to; a second one published later starts it.
  if (images.length > 1) player.release('few-slides');
  else player.hold('few-slides');
  if (first) player.setWanted(player.wanted, startReason());
  if (images.length === 0) return clearSlide();
  // The focus is on the slideshow, where its letter keys act (slideshow-keys.js): at the
  // start, and whenever a list arrives while it is on nothing (a first list that was empty,
  // or the controls hidden while the list was empty, had it fall to <body>).
  if (document.activeElement === document.body || document.activeElement === null)
    stage.focus({ preventScroll: true });
  if (first) return show(Math.max(linkedIndex(), 0), 'start');
  const place = placeAfterChange(before, index, images);
  const same = JSON.stringify(before[index]) === JSON.stringify(images[place.index]);
  if (!place.kept || !same) return show(place.index, cause);
  index = place.index;
  describePosition();
  if (settled) preloadNeighbours();
}

/** Why the show starts paused, or 'start' when it plays. */
const startReason = () => {
  if (reducedMotion.matches) return 'reduced-motion';
  return saveData.on ? 'save-data' : 'start';
};

function clearSlide() {
  hider.show();
  slide.replaceChildren();
  slide.removeAttribute('aria-label');
  slide.style.backgroundColor = '';
  $('counter').textContent = '';
  preloaded = [];
}

/** The id the link names (#slide=<id>), or null. */
const linkedId = () => new URLSearchParams(location.hash.slice(1)).get('slide');
/** The position of the slide the link names, or -1. */
const linkedIndex = () => images.findIndex((image) => image.id === linkedId());

// What asked for the list last (recorded with the list it brings).
let refreshCause = 'start';
const refreshList = oneAtATime(async () => {
  const next = await fetchList();
  if (next === null) events.push({ type: 'list-unchanged', t: performance.now() });
  else applyList(next, refreshCause);
  // The failed image is still listed, so it was the network: try it again (not after the
  // list its own failure asked for, which would loop on an image that keeps failing).
  if (failedId !== null && images[index]?.id === failedId && refreshCause !== 'image-error') {
    show(index, 'retry');
  }
});

/** Asks for the list again; a failure keeps the slides there are (the next asking may succeed). */
async function refresh(cause) {
  refreshCause = cause;
  events.push({ type: 'refresh', cause, t: performance.now() });
  try {
    await refreshList();
  } catch (error) {
    events.push({ type: 'refresh-error', cause, message: String(error), t: performance.now() });
    if (listed) return;
    $('load-error').hidden = false;
    $('load-error').textContent = `Could not load the slideshow: ${error.message}`;
  }
}

// A link followed within the page (#slide=<id>): that slide, after asking for
// the list again if it does not know the image (it may be newly shown).
window.addEventListener('hashchange', async () => {
  // Read once: while the list is asked for, showing a slide rewrites the hash.
  const id = linkedId();
  if (id === null) return;
  const indexOf = () => images.findIndex((image) => image.id === id);
  if (indexOf() < 0) await refresh('link');
  const wanted = indexOf();
  if (wanted >= 0 && wanted !== index) show(wanted, 'link');
});
window.addEventListener('online', () => refresh('online'));
setInterval(() => {
  if (!document.hidden) refresh('timer');
}, refreshSeconds * 1000);
refresh('start');
