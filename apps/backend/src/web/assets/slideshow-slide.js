// One slide: a <picture> with the AVIF/WebP/JPEG srcsets so the browser picks
// format and width, the ThumbHash placeholder and dominant colour until the
// image has loaded, the admin's alt text (else words saying there is none:
// altFor), and the title and caption as a <figcaption>. Text is only ever set
// as text. An animated image stands still (its poster, the first frame) under
// prefers-reduced-motion and while the show is paused: WCAG 2.2.2 Pause, Stop,
// Hide.

/** The ThumbHash decoder is passed in by slideshow.js (one import of /assets/thumbhash.js). */
export function placeholderUrl(image, thumbHashToDataURL, events) {
  if (!image.placeholder) return null;
  try {
    const bytes = Uint8Array.from(atob(image.placeholder), (c) => c.charCodeAt(0));
    return thumbHashToDataURL(bytes);
  } catch (error) {
    events.push({ type: 'placeholder-error', id: image.id, message: String(error) });
    return null;
  }
}

/** The placeholder <img> of data URL `url`, shown under the picture until it has loaded. */
export function buildPlaceholder(url) {
  const img = document.createElement('img');
  img.className = 'placeholder';
  img.alt = '';
  img.draggable = false;
  img.src = url;
  return img;
}

/**
 * The alt text: the admin's. An image may be shown without one (the console marks it, and
 * never blocks showing it): a screen reader then hears its title, else its position, and
 * that it has no description — not the title alone as if it described the image, and
 * never the file name (a camera's IMG_1234.HEIC says nothing; the API does not send it).
 */
export function altFor(image, index, total) {
  if (image.alt) return image.alt;
  return `${image.title || `Image ${index + 1} of ${total}`} (no description)`;
}

/**
 * The slide's `sizes`: the width the image is shown at. The slide fits it in
 * the window (slideshow.css: at most 100vw by 100dvh, aspect kept, nothing
 * around it; the controls and caption lie over it), so an image relatively
 * taller than the window (a portrait on a landscape screen) is as wide as the
 * window's height times its aspect ratio — not 100vw, which would fetch a
 * variant up to twice as wide as needed. Without dimensions: the window's width.
 * `scale` below 1 asks for fewer pixels: 1 / devicePixelRatio fetches about one
 * image pixel per CSS pixel (under Save-Data, slideshow.js).
 */
export function slideSizes(image, scale = 1) {
  const factor = (n) => Math.ceil(n * scale * 10_000) / 10_000;
  const width = scale === 1 ? '100vw' : `calc(${factor(1)} * 100vw)`;
  if (!(image.width > 0 && image.height > 0)) return width;
  const height = `calc(${factor(image.width / image.height)} * 100vh)`;
  return `(min-aspect-ratio: ${image.width}/${image.height}) ${height}, ${width}`;
}

/** The poster's media while the show plays: the viewer's reduced-motion preference decides. */
const MOVING = '(prefers-reduced-motion: reduce)';

/**
 * The poster's width, for its `w` descriptor (so it is shown at the size of
 * the animation it replaces): from its key (`poster.w640.jpg`), else the
 * widest animated variant (the poster is encoded at that width).
 */
function posterWidth(image) {
  const named = /\.w(\d+)\.[a-z]+$/.exec(image.poster);
  if (named) return Number(named[1]);
  const widths = (image.sources ?? []).flatMap((s) =>
    [...s.srcset.matchAll(/ (\d+)w/g)].map((m) => Number(m[1])),
  );
  return widths.length > 0 ? Math.max(...widths) : (image.width ?? 1);
}

/**
 * The poster's <source>, first in the <picture> so it wins when its media
 * matches: always while `still`, else under prefers-reduced-motion.
 */
function posterSource(image, sizes, still) {
  const el = document.createElement('source');
  el.className = 'poster';
  el.srcset = `${image.poster} ${posterWidth(image)}w`;
  el.sizes = sizes;
  el.media = still ? 'all' : MOVING;
  return el;
}

/**
 * Shows the poster of the animated image in `picture` (`still`), or lets it
 * move unless the viewer prefers reduced motion; the <img> picks its source
 * again when the media changes. A still image has no poster: nothing changes.
 */
export function setStill(picture, still) {
  const source = picture?.querySelector('source.poster');
  if (source) source.media = still ? 'all' : MOVING;
}

/**
 * A <picture> for `image` (an animation's poster when `still`, its `sizes`
 * scaled by `scale`: slideSizes); the <img> is returned too.
 */
export function buildPicture(image, { alt = '', still = false, scale = 1 } = {}) {
  const picture = document.createElement('picture');
  const sizes = slideSizes(image, scale);
  if (image.poster) picture.append(posterSource(image, sizes, still));
  for (const source of image.sources ?? []) {
    if (source.format === 'jpeg' || source.format === 'png') continue;
    const el = document.createElement('source');
    el.type = source.type;
    el.srcset = source.srcset;
    el.sizes = sizes;
    picture.append(el);
  }
  const img = document.createElement('img');
  const fallback = (image.sources ?? []).find((s) => s.format === 'jpeg' || s.format === 'png');
  if (fallback) {
    img.srcset = fallback.srcset;
    img.sizes = sizes;
  }
  img.src = image.src ?? '';
  img.alt = alt;
  if (image.width) img.width = image.width;
  if (image.height) img.height = image.height;
  img.decoding = 'async';
  // A mouse swipe must not start a native image drag (which cancels the pointer events).
  img.draggable = false;
  picture.append(img);
  return { picture, img };
}

/** The caption (title in bold, then the caption's lines), or null when there is neither. */
export function buildCaption(image) {
  if (!image.title && !image.caption) return null;
  const figcaption = document.createElement('figcaption');
  figcaption.id = 'caption';
  // A long caption scrolls (slideshow.css): focusable, so the keyboard scrolls it too.
  figcaption.tabIndex = 0;
  // The admin writes in any language: each text takes its direction from its own
  // first strong letter (dir=auto), so Arabic or Hebrew reads right to left.
  if (image.title) {
    const strong = document.createElement('strong');
    strong.dir = 'auto';
    strong.textContent = image.title;
    figcaption.append(strong);
  }
  if (image.caption) {
    const text = document.createElement('span');
    text.dir = 'auto';
    text.textContent = image.caption;
    figcaption.append(text);
  }
  return figcaption;
}

/**
 * Fetches `image` ahead of time: a detached <picture> with the same sources
 * and sizes makes the browser download the candidate it will pick on show
 * (the poster of an animation when `still`; `sizes` scaled by `scale`).
 */
export function preload(image, { still = false, scale = 1 } = {}) {
  const { picture, img } = buildPicture(image, { still, scale });
  img.loading = 'eager';
  return picture;
}
