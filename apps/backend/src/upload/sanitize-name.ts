/**
 * Cleans a client-supplied filename for display only (it is never part of a
 * storage key): last path segment, no control or bidi-override characters,
 * no leading dots, at most 200 characters.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The characters {@link sanitizeName} removes, as a RegExp source: the admin page shows a file's
 * name by the same rule before the server has seen it (`data-unsafe-name`, admin-page.ts).
 */
export const UNSAFE_NAME_PATTERN: string = UNSAFE.source;

/** The display name for an uploaded file; `unnamed` when nothing is left. */
export function sanitizeName(name: string | undefined | null): string {
  let clean = (name ?? '').normalize('NFC').replace(UNSAFE, '');
  clean = (clean.split(/[\\/]/).pop() ?? '').trim().replace(/^\.+/, '');
  const chars = Array.from(clean);
  if (chars.length > 200) clean = chars.slice(0, 200).join('');
  return clean.length > 0 ? clean : 'unnamed';
}
