// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Workflows source, where ${…} is expression syntax.
import { describe, expect, it } from 'vitest';
import { run, runError } from './test-support.ts';

/** Returns the value of one expression, through a real workflow. */
const evalExpr = (expr: string) => run(`- done:\n    return: \${${expr}}\n`);
const evalError = (expr: string) => runError(`- done:\n    return: \${${expr}}\n`);

describe('hash.*', () => {
  it('computes the SHA-256 checksum Google documents for "Hello World"', async () => {
    // https://cloud.google.com/workflows/docs/reference/stdlib/hash/compute_checksum
    expect(
      await evalExpr('base64.encode(hash.compute_checksum(text.encode("Hello World"), "SHA256"))'),
    ).toBe('pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4=');
  });

  it('computes the HMAC SHA-256 Google documents for key "key" and "Hello World"', async () => {
    // https://cloud.google.com/workflows/docs/reference/stdlib/hash/compute_hmac
    expect(
      await evalExpr(
        'base64.encode(hash.compute_hmac(text.encode("key"), text.encode("Hello World"), "SHA256"))',
      ),
    ).toBe('QidPcoCDkuWLV9co1+PA5RY+rwfRZdwDEF9iq74afRE=');
  });

  it('supports MD5, SHA1, SHA224, SHA384 and SHA512 with their digest lengths', async () => {
    const lengths: Record<string, number> = {
      MD5: 16,
      SHA1: 20,
      SHA224: 28,
      SHA384: 48,
      SHA512: 64,
    };
    for (const [alg, bytes] of Object.entries(lengths)) {
      expect(await evalExpr(`len(hash.compute_checksum(text.encode("x"), "${alg}"))`), alg).toBe(
        bytes,
      );
    }
  });

  it('raises TypeError for a string instead of bytes and ValueError for another algorithm', async () => {
    expect(await evalError('hash.compute_checksum("text", "SHA256")')).toMatchObject({
      tags: ['TypeError'],
    });
    expect(await evalError('hash.compute_checksum(text.encode("x"), "CRC32")')).toMatchObject({
      tags: ['ValueError'],
    });
  });
});

describe('time.format', () => {
  it('prints UTC with microseconds and Z by default, or for an empty time zone', async () => {
    expect(await evalExpr('time.format(1704903354.615087)')).toBe('2024-01-10T16:15:54.615087Z');
    expect(await evalExpr('time.format(1704903354.615087, "")')).toBe(
      '2024-01-10T16:15:54.615087Z',
    );
  });

  it('prints the local time and offset of an IANA time zone, daylight saving included', async () => {
    expect(await evalExpr('time.format(1704903354, "America/New_York")')).toBe(
      '2024-01-10T11:15:54.000000-05:00',
    );
    expect(await evalExpr('time.format(1720621554, "America/New_York")')).toBe(
      '2024-07-10T10:25:54.000000-04:00',
    );
    expect(await evalExpr('time.format(1704903354, "Asia/Kolkata")')).toBe(
      '2024-01-10T21:45:54.000000+05:30',
    );
  });

  it('raises ValueError for a zone that is not in the tz database', async () => {
    expect(await evalError('time.format(0, "Europe/Atlantis")')).toMatchObject({
      tags: ['ValueError'],
    });
  });
});

describe('time.parse', () => {
  it('reads an RFC 3339 time with its zone into seconds since the epoch', async () => {
    expect(await evalExpr('time.parse("2024-01-10T17:15:54.615+01:00")')).toBe(1704903354.615);
    expect(await evalExpr('time.parse("2024-01-10T00:00:00Z")')).toBe(1704844800);
  });

  it.each(['2024-01-10T00:00:00', '2024-02-30T00:00:00Z', 'Jan 10 2024', '5'])(
    'raises ValueError for %j, which is no RFC 3339 time with a zone',
    async (text) => {
      expect(await evalError(`time.parse("${text}")`)).toMatchObject({ tags: ['ValueError'] });
    },
  );
});

describe('if()', () => {
  it('returns the second or third argument by the condition', async () => {
    expect(await evalExpr('if(2 > 1, "yes", "no")')).toBe('yes');
    expect(await evalExpr('if(2 < 1, "yes", "no")')).toBe('no');
  });

  it('raises TypeError for a condition that is not a boolean', async () => {
    expect(await evalError('if(1, "yes", "no")')).toMatchObject({ tags: ['TypeError'] });
  });

  it('evaluates both branches, like Google: the unused one can still raise', async () => {
    expect(await evalError('if(true, 1, [][0])')).toMatchObject({ tags: ['IndexError'] });
  });
});
