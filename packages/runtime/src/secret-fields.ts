/**
 * Which log field names carry a secret. A name is cut into lower-case words at
 * camelCase humps, `-`, `_`, `.` and spaces (`x-csrf-token` → x, csrf, token;
 * `callbackSecret` → callback, secret), and is a secret's when:
 *
 * - any word is one that only secrets use: `password`, `cookie`, `authorization`
 *   (`passwordHash`, `set-cookie`, `proxy-authorization`);
 * - its last word names a secret: `token`, `secret`, `credential`, `bearer`, `jwt`,
 *   `sid`, `pass`, or their plurals (`csrfToken`, `access_token`, `ADMIN_TOKENS`,
 *   `callbackSecret`), while a name that describes one is kept (`tokenCount`,
 *   `tokenFile`, `sessionId`);
 * - its last two words name a key or a capability URL: `apiKey`, `private_key`,
 *   `sessionUrl` (a resumable upload's URL is a write capability).
 *
 * A word that merely contains one of these is not a match: `passes`, `compass`,
 * `resumableUploadId`, and a bare `key` (a dispatch or object key) are written.
 */

const ANY_WORD = new Set(['password', 'passwd', 'passphrase', 'cookie', 'authorization']);

const LAST_WORD = new Set(['token', 'secret', 'credential', 'bearer', 'jwt', 'sid', 'pass']);

const LAST_TWO = new Map<string, Set<string>>([
  ['key', new Set(['api', 'private', 'secret', 'access', 'signing', 'encryption', 'hmac'])],
  ['url', new Set(['session', 'upload', 'signed'])],
  ['uri', new Set(['session', 'upload', 'signed'])],
]);

/** The field name's words, lower case: `xCsrfToken`, `x-csrf-token` and `X_CSRF_TOKEN` → x, csrf, token. */
function wordsOf(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .map(singular);
}

/** A plural's singular: `tokens` → `token`, `sids` → `sid`; `pass`, `access` and three-letter words stay. */
function singular(word: string): string {
  return word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word;
}

/** True when a log field of this name holds a secret, whose value is then never written. */
export function isSecretField(key: string): boolean {
  const words = wordsOf(key);
  const last = words.at(-1);
  if (last === undefined) return false;
  if (words.some((word) => ANY_WORD.has(word)) || LAST_WORD.has(last)) return true;
  const before = words.at(-2);
  return before !== undefined && (LAST_TWO.get(last)?.has(before) ?? false);
}
