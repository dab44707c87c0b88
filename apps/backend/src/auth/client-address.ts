/**
 * Who a request comes from, for the login limiter.
 *
 * Locally it is the socket's address. Behind Cloud Run the socket is Google's
 * front end, and the client is in `X-Forwarded-For`, which a client can also
 * send itself: a proxy appends the address it received the connection from, so
 * only the entries added by our own proxies can be trusted, counted from the
 * right. `trustedProxyHops` says how many: 1 for a service reached on its
 * run.app URL (Google's front end appends the client: the last entry), 2
 * behind an external Application Load Balancer (which sends
 * `<supplied>,<client-ip>,<load-balancer-ip>`). Entries to the left of the
 * trusted one are the client's own claims and are ignored, so forging
 * `X-Forwarded-For` gives a client no other identity.
 *
 * IPv6 clients are keyed by their /64: one subscriber line gets a whole /64
 * (RFC 6177), so rotating addresses inside it must not buy a fresh budget.
 */
import type { IncomingMessage } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import type { Context } from 'hono';

/** Expands an IPv6 address to its eight 16-bit groups, or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) =>
    part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  return [...left, ...new Array<number>(missing).fill(0), ...right];
}

/**
 * The key an address is limited under: an IPv4 address as it is (also when
 * written IPv4-mapped), an IPv6 address as its /64, anything else undefined.
 */
export function addressKey(address: string): string | undefined {
  const bare = address.trim().replace(/^\[(.*)\]$/, '$1');
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return undefined;
  const groups = ipv6Groups(bare.replace(/%.*$/, ''));
  if (!groups) return undefined;
  const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
  if (mapped) {
    const [hi = 0, lo = 0] = groups.slice(6);
    return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
  }
  return `${groups
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':')}::/64`;
}

/** The client's address key (see the module comment); `unknown` when there is none. */
export function clientAddress(c: Context, trustedProxyHops: number): string {
  if (trustedProxyHops > 0) {
    const hops = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter((h) => h !== '');
    const trusted =
      hops.length >= trustedProxyHops ? hops[hops.length - trustedProxyHops] : undefined;
    const key = trusted === undefined ? undefined : addressKey(trusted);
    if (key) return key;
  }
  const env = c.env as { incoming?: IncomingMessage } | undefined;
  const socket = env?.incoming?.socket.remoteAddress;
  return (socket && addressKey(socket)) ?? 'unknown';
}
