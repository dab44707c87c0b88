/**
 * Where local-cloud sends HTTP (Cloud Tasks dispatches, workflow `http.*`
 * calls) and which of its credentials may travel with it. By default only
 * loopback hosts are reached; `allowedHosts` (LOCAL_CLOUD_OUTBOUND_HOSTS)
 * adds others. Credentials never leave the machine: the local OIDC token
 * (the stack's callback secret) goes only to loopback hosts, and the local
 * OAuth token — the credential of local-cloud's own API — only to
 * local-cloud itself: the address it listens on (127.0.0.1) and its port,
 * never another loopback name (`localhost` may resolve to ::1, and ::1 or
 * 127.0.0.2 on that port is whoever bound it), as Google sends OAuth tokens only to its own APIs
 * ("OAuth tokens should generally only be used when calling Google APIs
 * hosted on *.googleapis.com", Cloud Tasks OAuthToken reference).
 */
import { isLoopbackHostname } from './loopback.ts';

/** Kinds of credential local-cloud can attach. */
export type CredentialKind = 'oauth' | 'oidc';

/** The policy, built once by the composition root. */
export interface OutboundPolicy {
  /** Why a request to `url` may not be sent, or undefined when it may. */
  refusal(url: string): string | undefined;
  /** Whether a credential of `kind` may be attached to a request to `url`. */
  mayCarry(url: string, kind: CredentialKind): boolean;
}

/** Options of {@link createOutboundPolicy}. */
export interface OutboundPolicyOptions {
  /**
   * Hosts reachable besides loopback: `name` (any port), `name:port`, or `*`
   * (any host). Credentials are still never sent to them.
   */
  allowedHosts?: readonly string[];
  /** local-cloud's own port: with {@link SELF_HOST}, the only target of the OAuth token (none when unknown). */
  selfPort?: () => number | undefined;
}

/** The address local-cloud listens on (server.ts), so the only host its OAuth token is sent to. */
export const SELF_HOST = '127.0.0.1';

function parse(url: string): URL | undefined {
  return URL.canParse(url) ? new URL(url) : undefined;
}

function port(u: URL): string {
  return u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80';
}

/** Builds the policy. */
export function createOutboundPolicy(options: OutboundPolicyOptions = {}): OutboundPolicy {
  const allowed = (options.allowedHosts ?? []).map((h) => h.trim().toLowerCase()).filter(Boolean);
  const allowAll = allowed.includes('*');
  const isAllowed = (u: URL) =>
    allowAll || allowed.includes(u.hostname) || allowed.includes(`${u.hostname}:${port(u)}`);
  return {
    refusal(url) {
      const u = parse(url);
      if (u === undefined) return `not a URL: ${url}`;
      if (u.protocol !== 'http:' && u.protocol !== 'https:') {
        return `only http and https URLs are sent, not ${u.protocol}`;
      }
      if (isLoopbackHostname(u.hostname) || isAllowed(u)) return undefined;
      return `local-cloud sends requests only to loopback hosts; ${u.host} is not one (allow it with LOCAL_CLOUD_OUTBOUND_HOSTS)`;
    },
    mayCarry(url, kind) {
      const u = parse(url);
      if (u === undefined || !isLoopbackHostname(u.hostname)) return false;
      if (kind === 'oidc') return true;
      const self = options.selfPort?.();
      return u.hostname === SELF_HOST && self !== undefined && port(u) === String(self);
    },
  };
}
