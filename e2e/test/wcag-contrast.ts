/**
 * WCAG 2.x contrast, for the browser tests that measure colours (console-a11y's
 * computed border colours, slideshow-a11y's text over screenshot pixels):
 * https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio.
 */

/** The relative luminance of an sRGB colour given as 0–255 channels. */
export function luminance([r = 0, g = 0, b = 0]: readonly number[]): number {
  const linear = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** The channels of a computed CSS colour, `rgb(r, g, b)` or `rgba(r, g, b, a)`. */
export function cssChannels(colour: string): number[] {
  const parts = /^rgba?\((\d+(?:\.\d+)?),\s*(\d+(?:\.\d+)?),\s*(\d+(?:\.\d+)?)/.exec(colour);
  if (!parts) throw new Error(`not an rgb() colour: ${colour}`);
  return parts.slice(1, 4).map(Number);
}

/** The contrast ratio of two luminances, the lighter over the darker (1 to 21). */
export function contrastRatio(a: number, b: number): number {
  const [light, dark] = a > b ? [a, b] : [b, a];
  return (light + 0.05) / (dark + 0.05);
}

/** The contrast ratio of two computed CSS colours. */
export const cssContrast = (a: string, b: string): number =>
  contrastRatio(luminance(cssChannels(a)), luminance(cssChannels(b)));
