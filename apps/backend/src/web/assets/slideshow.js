// The public slideshow: published images in the admin's order, full screen in
// <picture> elements; the placeholder shows until the image has loaded; the
// neighbours are preloaded. Autoplay with a visible Play/Pause and interval,
// held while hovered or focused, off at first under prefers-reduced-motion;
// keyboard (←/→, Home/End, Space or K to play/pause, F full screen, C
// captions), swipe, full screen, captions, and a deep link #slide=<id>
// (optionally &interval=<seconds>). Events are recorded on
// window.slideshowEvents so the browser tests can check their order.
import { thumbHashToDataURL } from '/assets/thumbhash.js';
import { createPlayer } from './slideshow-player.js';
import { altFor, buildCaption, buildPicture, placeholderUrl, preload } from './slideshow-slide.js';

const events = [];
window.slideshowEvents = events;
const $ = (id) => document.getElementById(id);
const slide = $('slide');
const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)');
const hash = new URLSearchParams(location.hash.slice(1));
const storedInterval = Number(localStorage.getItem('slideshow.interval'));
const askedInterval = Number(hash.get('interval'));
const intervalSeconds =
  askedInterval >= 2 && askedInterval <= 60
    ? askedInterval
    : storedInterval >= 2 && storedInterval <= 60
      ? storedInterval
      : 5;
let images = [];
let index = 0;
// Held so the detached preloads are not collected before they have fetched.
let preloaded = [];

const player = createPlayer({
  intervalMs: intervalSeconds * 1000,
  wantsPlay: !reducedMotion.matches,
  advance: () => show(index + 1, 'autoplay'),
  onChange: (state) => {
    const button = $('play');
    button.textContent = state.wanted ? 'Pause' : 'Play';
    button.setAttribute('aria-label', state.wanted ? 'Pause slideshow' : 'Play slideshow');
    // Announce slides and the counter only when they do not change by themselves (APG carousel).
    slide.setAttribute('aria-live', state.playing ? 'off' : 'polite');
    $('counter').setAttribute('aria-live', state.playing ? 'off' : 'polite');
    events.push({ type: 'autoplay', ...state, t: performance.now() });
  },
});

function show(i, cause = 'user') {
  if (images.length === 0) return;
  index = (i + images.length) % images.length;
  const image = images[index];
  slide.replaceChildren();
  slide.style.backgroundColor = image.dominantColor ?? '#000';
  slide.setAttribute('aria-label', `${index + 1} of ${images.length}`);
  const figure = document.createElement('figure');
  const url = placeholderUrl(image, thumbHashToDataURL, events);
  if (url) {
    const ph = document.createElement('img');
    ph.className = 'placeholder';
    ph.alt = '';
    ph.draggable = false;
    ph.src = url;
    figure.append(ph);
    events.push({ type: 'placeholder-shown', id: image.id, t: performance.now() });
  }
  const { picture, img } = buildPicture(image, altFor(image, index, images.length));
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
  };
  img.addEventListener('load', done, { once: true });
  figure.append(picture);
  const caption = buildCaption(image);
  if (caption) figure.append(caption);
  slide.append(figure);
  if (img.complete && img.naturalWidth > 0) done();
  $('counter').textContent = `${index + 1} / ${images.length}`;
  const link = `#slide=${encodeURIComponent(image.id)}`;
  history.replaceState(
    null,
    '',
    hash.has('interval') ? `${link}&interval=${intervalSeconds}` : link,
  );
  events.push({ type: 'shown', id: image.id, index, cause, t: performance.now() });
  player.shown();
  preloadNeighbours();
}

function preloadNeighbours() {
  if (images.length < 2) return;
  const next = images[(index + 1) % images.length];
  const prev = images[(index - 1 + images.length) % images.length];
  preloaded = [preload(next), ...(prev === next ? [] : [preload(prev)])];
  events.push({ type: 'preload', id: next.id, held: preloaded.length });
}

function toggleFullscreen() {
  if (document.fullscreenElement) document.exitFullscreen();
  else
    document.documentElement
      .requestFullscreen()
      .catch((error) => events.push({ type: 'fullscreen-error', message: String(error) }));
}

function toggleCaptions() {
  const on = $('captions').getAttribute('aria-pressed') !== 'true';
  $('captions').setAttribute('aria-pressed', String(on));
  document.body.classList.toggle('no-captions', !on);
  localStorage.setItem('slideshow.captions', on ? 'on' : 'off');
}

$('next').addEventListener('click', () => show(index + 1));
$('prev').addEventListener('click', () => show(index - 1));
$('play').addEventListener('click', () => player.setWanted(!player.wanted));
$('captions').addEventListener('click', toggleCaptions);
if (document.fullscreenEnabled) {
  $('fullscreen').hidden = false;
  $('fullscreen').addEventListener('click', toggleFullscreen);
  document.addEventListener('fullscreenchange', () => {
    $('fullscreen').textContent = document.fullscreenElement ? 'Exit full screen' : 'Full screen';
  });
}
const select = $('interval');
if (![...select.options].some((o) => Number(o.value) === intervalSeconds)) {
  select.append(new Option(String(intervalSeconds), String(intervalSeconds)));
}
select.value = String(intervalSeconds);
select.addEventListener('change', () => {
  localStorage.setItem('slideshow.interval', select.value);
  player.setInterval(Number(select.value) * 1000);
});
if (localStorage.getItem('slideshow.captions') === 'off') toggleCaptions();

document.addEventListener('keydown', (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  const onControl = e.target instanceof Element && e.target.closest('button, select, a, input');
  if (e.key === 'ArrowRight' || e.key === 'PageDown') show(index + 1);
  else if (e.key === 'ArrowLeft' || e.key === 'PageUp') show(index - 1);
  else if (e.key === 'Home') show(0);
  else if (e.key === 'End') show(images.length - 1);
  else if ((e.key === ' ' && !onControl) || e.key === 'k') player.setWanted(!player.wanted);
  else if (e.key === 'f') toggleFullscreen();
  else if (e.key === 'c') toggleCaptions();
  else return;
  e.preventDefault();
});

// Pause while the viewer points at or works the slideshow, and in a background tab.
const main = document.querySelector('main');
main.addEventListener('pointerenter', (e) => e.pointerType === 'mouse' && player.hold('hover'));
main.addEventListener('pointerleave', (e) => e.pointerType === 'mouse' && player.release('hover'));
$('controls').addEventListener('focusin', () => player.hold('focus'));
$('controls').addEventListener('focusout', (e) => {
  if (!$('controls').contains(e.relatedTarget)) player.release('focus');
});
document.addEventListener('visibilitychange', () =>
  document.hidden ? player.hold('hidden') : player.release('hidden'),
);
reducedMotion.addEventListener('change', () => {
  if (reducedMotion.matches) player.setWanted(false, 'reduced-motion');
});

let touchX = null;
const stage = $('stage');
stage.addEventListener('pointerdown', (e) => {
  touchX = e.clientX;
});
stage.addEventListener('pointercancel', () => {
  touchX = null;
});
stage.addEventListener('pointerup', (e) => {
  if (touchX === null) return;
  const dx = e.clientX - touchX;
  touchX = null;
  if (Math.abs(dx) > 40) show(dx < 0 ? index + 1 : index - 1);
});

async function load() {
  const response = await fetch('/api/slideshow');
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const body = await response.json();
  images = body.images ?? [];
  $('empty').hidden = images.length > 0;
  events.push({ type: 'loaded-list', count: images.length, reducedMotion: reducedMotion.matches });
  const wanted = images.findIndex((i) => i.id === hash.get('slide'));
  player.setWanted(
    player.wanted && images.length > 1,
    reducedMotion.matches ? 'reduced-motion' : 'start',
  );
  show(Math.max(wanted, 0), 'start');
}

load().catch((error) => {
  $('empty').hidden = false;
  $('empty').textContent = `Could not load the slideshow: ${error.message}`;
});
