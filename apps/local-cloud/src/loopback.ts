/**
 * What counts as "this machine" for local-cloud: the name `localhost`, IPv4
 * 127.0.0.0/8 (RFC 1122 §3.2.1.3), IPv6 ::1 and IPv4-mapped 127/8 addresses
 * (RFC 4291 §2.5.5.2). Names are compared literally, never resolved: a name
 * that merely resolves to 127.0.0.1 (the DNS-rebinding trick) is not loopback.
 */

/**
 * True when `hostname` — as `URL.hostname` gives it (lower case, IPv4
 * canonical, IPv6 in brackets) — names the loopback interface.
 */
export function isLoopbackHostname(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost') return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  if (host === '[::1]') return true;
  // IPv4-mapped IPv6 as the WHATWG URL parser writes it: [::ffff:7f00:1] for 127.0.0.1.
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}\]$/.exec(host);
  if (mapped?.[1] !== undefined) return Number.parseInt(mapped[1], 16) >> 8 === 127;
  return false;
}

/**
 * The hostname of an HTTP `Host` header value (`127.0.0.1:8123`,
 * `[::1]:8123`, `localhost`), normalised like `URL.hostname`; undefined when
 * the value is not a valid host.
 */
export function hostHeaderHostname(value: string): string | undefined {
  if (value === '' || /[/?#@\s\\]/.test(value)) return undefined;
  const url = `http://${value}`;
  return URL.canParse(url) ? new URL(url).hostname : undefined;
}
