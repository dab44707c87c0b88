// The public slideshow: processed images full-screen in <picture> elements so
// the browser picks AVIF/WebP/JPEG and the width; the ThumbHash placeholder and
// the dominant colour show until the real image has loaded; keyboard and swipe
// navigation; the next image is preloaded. Events are recorded on
// window.slideshowEvents so the browser test can check their order.
import { thumbHashToDataURL } from '/assets/thumbhash.js';

const events = [];
window.slideshowEvents = events;
const slide = document.getElementById('slide');
const counter = document.getElementById('counter');
const empty = document.getElementById('empty');
const reducedMotion = window.matchMedia('(prefers-reduced-motion: reduce)');
let images = [];
let index = 0;
let preloaded = null;

function placeholderUrl(image) {
  if (!image.placeholder) return null;
  try {
    const bytes = Uint8Array.from(atob(image.placeholder), (c) => c.charCodeAt(0));
    return thumbHashToDataURL(bytes);
  } catch (error) {
    events.push({ type: 'placeholder-error', id: image.id, message: String(error) });
    return null;
  }
}

function buildPicture(image) {
  const picture = document.createElement('picture');
  for (const source of image.sources ?? []) {
    if (source.format === 'jpeg' || source.format === 'png') continue;
    const el = document.createElement('source');
    el.type = source.type;
    el.srcset = source.srcset;
    el.sizes = '100vw';
    picture.append(el);
  }
  const img = document.createElement('img');
  const fallback = (image.sources ?? []).find((s) => s.format === 'jpeg' || s.format === 'png');
  if (fallback) {
    img.srcset = fallback.srcset;
    img.sizes = '100vw';
  }
  img.src = image.src ?? image.fallback?.src ?? '';
  img.alt = image.alt ?? image.originalName ?? 'Slideshow image';
  img.width = image.width;
  img.height = image.height;
  img.decoding = 'async';
  picture.append(img);
  return { picture, img };
}

function show(i) {
  if (images.length === 0) return;
  index = (i + images.length) % images.length;
  const image = images[index];
  slide.replaceChildren();
  slide.style.backgroundColor = image.dominantColor ?? '#000';
  const url = placeholderUrl(image);
  if (url) {
    const ph = document.createElement('img');
    ph.className = 'placeholder';
    ph.alt = '';
    ph.src = url;
    slide.append(ph);
    events.push({ type: 'placeholder-shown', id: image.id, t: performance.now() });
  }
  const { picture, img } = buildPicture(image);
  const done = () => {
    img.classList.add('loaded');
    events.push({
      type: 'image-loaded',
      id: image.id,
      currentSrc: img.currentSrc,
      t: performance.now(),
    });
    slide.querySelector('.placeholder')?.remove();
  };
  img.addEventListener('load', done, { once: true });
  slide.append(picture);
  if (img.complete && img.naturalWidth > 0) done();
  counter.textContent = `${index + 1} / ${images.length}`;
  preloadNext();
}

function preloadNext() {
  if (images.length < 2) return;
  const next = images[(index + 1) % images.length];
  // A detached <picture> makes the browser fetch the same candidate it will
  // pick when the slide is shown (same sources, same sizes).
  preloaded = buildPicture(next).picture;
  preloaded.querySelector('img').loading = 'eager';
  events.push({ type: 'preload', id: next.id });
}

document.getElementById('next').addEventListener('click', () => show(index + 1));
document.getElementById('prev').addEventListener('click', () => show(index - 1));
document.addEventListener('keydown', (e) => {
  if (e.key === 'ArrowRight' || e.key === ' ' || e.key === 'PageDown') show(index + 1);
  else if (e.key === 'ArrowLeft' || e.key === 'PageUp') show(index - 1);
  else if (e.key === 'Home') show(0);
  else if (e.key === 'End') show(images.length - 1);
  else return;
  e.preventDefault();
});

let touchX = null;
const stage = document.getElementById('stage');
stage.addEventListener('pointerdown', (e) => {
  touchX = e.clientX;
});
stage.addEventListener('pointerup', (e) => {
  if (touchX === null) return;
  const dx = e.clientX - touchX;
  touchX = null;
  if (Math.abs(dx) > 40) show(dx < 0 ? index + 1 : index - 1);
});

async function load() {
  const response = await fetch('/api/slideshow');
  const body = await response.json();
  images = body.images ?? [];
  empty.hidden = images.length > 0;
  events.push({ type: 'loaded-list', count: images.length, reducedMotion: reducedMotion.matches });
  show(0);
}

load().catch((error) => {
  empty.hidden = false;
  empty.textContent = `Could not load the slideshow: ${error.message}`;
});
