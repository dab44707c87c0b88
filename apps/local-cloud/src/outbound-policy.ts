/**
 * Where local-cloud sends HTTP (Cloud Tasks dispatches, workflow `http.*`
 * calls) and which of its credentials may travel with it. By default only
 * loopback hosts are reached; `allowedHosts` (LOCAL_CLOUD_OUTBOUND_HOSTS)
 * adds others. Credentials never leave the machine: the local OIDC token
 * (the stack's callback secret) goes only to loopback hosts, and the local
 * OAuth token — the credential of local-cloud's own API — only to
 * local-cloud itself, as Google sends OAuth tokens only to its own APIs
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
  /** local-cloud's own port, the only target of the OAuth token (any loopback port when unknown). */
  selfPort?: () => number | undefined;
}

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
      return self === undefined || port(u) === String(self);
    },
  };
}
