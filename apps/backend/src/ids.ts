/** Random identifiers: image ids, session ids, CSRF tokens, generated secrets. */
import { createHash, randomBytes } from 'node:crypto';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** A new image id: `img_` + base32 of 16 random bytes (URL- and key-safe, unguessable). */
export function newImageId(): string {
  return `img_${base32(randomBytes(16))}`;
}

/** Shape of ids this backend generates (regular-expression source, unanchored). */
export const IMAGE_ID_SOURCE = 'img_[a-z2-7]{26}';

/** Shape of ids this backend generates; anything else in a path is refused before a lookup. */
export const IMAGE_ID_PATTERN = new RegExp(`^${IMAGE_ID_SOURCE}$`);

/** A random URL-safe token with `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** sha256 hex of a string (stored form of session ids and admin tokens). */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
