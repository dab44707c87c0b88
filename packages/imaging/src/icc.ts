/**
 * Reads the description of an ICC profile (ICC.1:2010 §9.2.41 `desc`: the v2
 * `desc` text type or the v4 `mluc` UTF-16 type), enough to recognise a
 * Display-P3 profile whatever tool wrote it (Apple's "Display P3", libvips'
 * built-in "sP3C").
 */

/** The profile's description, or undefined when it has none we can read. */
export function iccDescription(icc: Buffer): string | undefined {
  if (icc.length < 132) return undefined;
  const count = icc.readUInt32BE(128);
  for (let i = 0; i < count && 132 + i * 12 + 12 <= icc.length; i++) {
    const entry = 132 + i * 12;
    if (icc.toString('latin1', entry, entry + 4) !== 'desc') continue;
    const offset = icc.readUInt32BE(entry + 4);
    const size = icc.readUInt32BE(entry + 8);
    if (offset + size > icc.length || size < 12) return undefined;
    const type = icc.toString('latin1', offset, offset + 4);
    if (type === 'desc') {
      const length = icc.readUInt32BE(offset + 8);
      return icc
        .toString('latin1', offset + 12, Math.min(offset + 12 + length, offset + size))
        .replace(/\0+$/, '');
    }
    if (type === 'mluc' && size >= 28) {
      const length = icc.readUInt32BE(offset + 20);
      const start = offset + icc.readUInt32BE(offset + 24);
      if (start + length > icc.length) return undefined;
      const utf16 = Buffer.from(icc.subarray(start, start + length));
      return utf16.swap16().toString('utf16le');
    }
    return undefined;
  }
  return undefined;
}

/** True for a Display-P3 (or DCI-P3 based) RGB profile. */
export function isDisplayP3(icc: Buffer | undefined): boolean {
  const description = icc && iccDescription(icc);
  return description !== undefined && /\bP3\b|sP3C/i.test(description);
}
