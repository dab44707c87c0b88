import * as z from 'zod';
import { AdminThumbnail } from './admin-failed-tasks.ts';

/**
 * One slide of the public slideshow: the URLs of the image's still variants
 * grouped per format for `<picture>`/`srcset`, the JPEG/PNG fallback `src`
 * (the widest ≤ 1280 px; null when the image has no still), and an animated
 * image's `poster` (null when it has none).
 */
export const Slide = z.object({
  id: z.string(),
  title: z.string(),
  caption: z.string(),
  alt: z.string(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  placeholder: z.string().nullable(),
  dominantColor: z.string().nullable(),
  animated: z.boolean(),
  src: z.string().nullable(),
  sources: z.array(
    z.object({
      format: z.enum(['avif', 'webp', 'jpeg', 'png']),
      /** MIME type, e.g. `image/avif`. */
      type: z.string(),
      srcset: z.string(),
    }),
  ),
  poster: z.string().nullable(),
});
export type Slide = z.infer<typeof Slide>;

/** `GET /api/slideshow` (public): the published processed images in the admin's order. */
export const SlideshowAnswer = z.object({ images: z.array(Slide) });
export type SlideshowAnswer = z.infer<typeof SlideshowAnswer>;

/** One image of the admin's slideshow order. */
export const AdminSlide = z.object({
  id: z.string(),
  originalName: z.string(),
  title: z.string(),
  altText: z.string(),
  slidePosition: z.number().int().nullable(),
  placeholder: z.string().nullable(),
  thumb: AdminThumbnail.nullable(),
});
export type AdminSlide = z.infer<typeof AdminSlide>;

/** `GET /api/admin/slideshow`: the shown processed images in slideshow order. */
export const AdminSlideshowAnswer = z.object({ images: z.array(AdminSlide) });
export type AdminSlideshowAnswer = z.infer<typeof AdminSlideshowAnswer>;

/**
 * `PUT /api/admin/slideshow/order`: the ids that took positions 1..n, in
 * order, and those ignored (no such image, or not shown and processed).
 */
export const SlideshowOrderAnswer = z.object({
  placed: z.array(z.string()),
  ignored: z.array(z.string()),
});
export type SlideshowOrderAnswer = z.infer<typeof SlideshowOrderAnswer>;
