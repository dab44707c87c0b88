import { describe, expect, it } from 'vitest';
import { identifyRefused, sniffFormat } from './sniff.ts';

const bytes = (...parts: (string | number[])[]): Uint8Array =>
  Buffer.concat(
    parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))),
  );

function ftyp(major: string, ...compatible: string[]): Uint8Array {
  const size = 16 + 4 * compatible.length;
  return bytes([0, 0, 0, size], 'ftyp', major, [0, 0, 0, 0], compatible.join(''));
}

describe('sniffFormat', () => {
  it('recognises every allowed format from its magic bytes alone', () => {
    expect(sniffFormat(bytes([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffFormat(bytes([0x89], 'PNG\r\n\u001a\n'))).toBe('png');
    expect(sniffFormat(bytes('GIF89a'))).toBe('gif');
    expect(sniffFormat(bytes('GIF87a'))).toBe('gif');
    expect(sniffFormat(bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 '))).toBe('webp');
    expect(sniffFormat(bytes('II*', [0]))).toBe('tiff');
    expect(sniffFormat(bytes('MM', [0, 42]))).toBe('tiff');
    expect(sniffFormat(ftyp('avif', 'mif1', 'miaf'))).toBe('avif');
    expect(sniffFormat(ftyp('heic', 'mif1', 'heic'))).toBe('heic');
  });

  it('tells AVIF from HEIC in a generic mif1 container by its compatible brands', () => {
    expect(sniffFormat(ftyp('mif1', 'avif'))).toBe('avif');
    expect(sniffFormat(ftyp('mif1', 'heic'))).toBe('heic');
  });

  it('returns undefined for anything outside the allow-list', () => {
    expect(sniffFormat(bytes('%PDF-1.7'))).toBeUndefined();
    expect(sniffFormat(bytes('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeUndefined();
    expect(sniffFormat(bytes('BM'))).toBeUndefined();
    expect(sniffFormat(new Uint8Array())).toBeUndefined();
    expect(sniffFormat(ftyp('mp42', 'isom'))).toBeUndefined();
  });
});

describe('identifyRefused', () => {
  it('names SVG whether it starts with the root, an XML prolog or a comment', () => {
    expect(identifyRefused(bytes('<svg width="1"/>'))).toBe('svg');
    expect(identifyRefused(Buffer.from('\uFEFF  <?xml version="1.0"?>\n<svg/>', 'utf8'))).toBe(
      'svg',
    );
    expect(identifyRefused(bytes('<!-- made by hand -->\n<svg/>'))).toBe('svg');
  });

  it('names HTML, PDF, JPEG 2000 and plain text precisely', () => {
    expect(identifyRefused(bytes('<!DOCTYPE html><html>'))).toBe('html');
    expect(identifyRefused(bytes('%PDF-1.4'))).toBe('pdf');
    expect(identifyRefused(bytes([0, 0, 0, 12], 'jP  '))).toBe('jpeg2000');
    expect(identifyRefused(bytes('this is not an image\n'))).toBe('text');
  });
});
