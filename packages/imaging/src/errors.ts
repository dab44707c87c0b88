import type { ImageErrorCode } from '@slideshow/contracts';
import { AppError } from '@slideshow/runtime';

/** A permanent, coded refusal of an image (never retryable). */
export function imageError(
  code: ImageErrorCode,
  message: string,
  context: Record<string, unknown> = {},
  cause?: unknown,
): AppError {
  return new AppError(code, message, { retryable: false, context, cause });
}

/** Formats a byte count for messages: "212.4 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * Maps an error thrown by sharp/libvips while reading an input to a coded
 * image error. libvips reports truncation and bad headers as plain messages.
 */
export function fromSharpError(error: unknown, context: Record<string, unknown> = {}): AppError {
  // Our own coded errors pass through; anything else (including what
  // coerceError made INTERNAL) is classified by libvips' message.
  if (error instanceof AppError && error.code !== 'INTERNAL') return error;
  const message =
    (error instanceof Error ? error.message : String(error)).split('\n')[0]?.trim() ?? '';
  if (/exceeds pixel limit/i.test(message)) {
    return imageError(
      'TOO_MANY_PIXELS',
      `Expected an image within the pixel limit but received one that exceeds it (${message})`,
      context,
      error,
    );
  }
  if (/too large for the \w+ format/i.test(message)) {
    // sharp's encoder refused a variant's size (variant-size.ts keeps them
    // within it): our fault, not the image's, so never CORRUPT_IMAGE.
    return new AppError(
      'INTERNAL',
      `Expected every variant within the encoders' size limits but one was refused: ${message}`,
      { retryable: false, context, cause: error },
    );
  }
  if (/unsupported image format/i.test(message) && context.format !== undefined) {
    // Its magic bytes named a format we read (probe-header.ts sniffs before
    // libvips), so libvips not recognising it means damaged data: a truncated
    // TIFF whose first directory is cut off.
    return imageError(
      'CORRUPT_IMAGE',
      `Expected a complete, decodable ${String(context.format).toUpperCase()} image but the decoder could not read it (${message})`,
      context,
      error,
    );
  }
  if (/unsupported image format/i.test(message)) {
    return imageError(
      'UNSUPPORTED_FORMAT',
      `Expected a JPEG, PNG, WebP, GIF, AVIF, TIFF or HEIC image but the decoder did not recognise it (${message})`,
      context,
      error,
    );
  }
  return imageError(
    'CORRUPT_IMAGE',
    `Expected a complete, decodable image but the decoder failed: ${message}`,
    context,
    error,
  );
}
