// One slide: a <picture> with the AVIF/WebP/JPEG srcsets so the browser picks
// format and width, the ThumbHash placeholder and dominant colour until the
// image has loaded, the admin's alt text, and the title and caption as a
// <figcaption>. Text is only ever set as text.

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

/** The alt text: the admin's, else the title, else the slide's position. */
export function altFor(image, index, total) {
  return image.alt || image.title || `Image ${index + 1} of ${total}`;
}

/**
 * The slide's `sizes`: the width the image is shown at. The slide fits it in
 * the window (slideshow.css: at most 100vw by 100dvh, aspect kept, nothing
 * around it; the controls and caption lie over it), so an image relatively
 * taller than the window (a portrait on a landscape screen) is as wide as the
 * window's height times its aspect ratio — not 100vw, which would fetch a
 * variant up to twice as wide as needed. Without dimensions: the window's width.
 */
export function slideSizes(image) {
  if (!(image.width > 0 && image.height > 0)) return '100vw';
  const ratio = Math.ceil((image.width / image.height) * 10_000) / 10_000;
  return `(min-aspect-ratio: ${image.width}/${image.height}) calc(${ratio} * 100vh), 100vw`;
}

/** A <picture> for `image`; the <img> is returned too. */
export function buildPicture(image, alt) {
  const picture = document.createElement('picture');
  const sizes = slideSizes(image);
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
  if (image.title) {
    const strong = document.createElement('strong');
    strong.textContent = image.title;
    figcaption.append(strong);
  }
  if (image.caption) {
    const text = document.createElement('span');
    text.textContent = image.caption;
    figcaption.append(text);
  }
  return figcaption;
}

/**
 * Fetches `image` ahead of time: a detached <picture> with the same sources
 * and sizes makes the browser download the candidate it will pick on show.
 */
export function preload(image) {
  const { picture, img } = buildPicture(image, '');
  img.loading = 'eager';
  return picture;
}
