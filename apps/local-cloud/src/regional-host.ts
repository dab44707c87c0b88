/**
 * gcloud's regional Cloud Run endpoints, pointed at local-cloud.
 *
 * `gcloud run jobs …` talks to the Cloud Run Admin API v1 on a regional host:
 * it puts the region in front of the endpoint's host
 * (`command_lib/run/connection_context.py`, DeriveRegionalEndpoint:
 * `netloc = '{region}-{netloc}'`), so with
 * `CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN=http://localhost:8123/` it calls
 * `http://us-central1-localhost:8123/apis/run.googleapis.com/v1/…` — a name
 * no common system resolves. With gcloud's proxy settings
 * (`CLOUDSDK_PROXY_TYPE=http`, `CLOUDSDK_PROXY_ADDRESS=127.0.0.1`,
 * `CLOUDSDK_PROXY_PORT=8123`) the name is never resolved: gcloud sends the
 * request to local-cloud in proxy form (`GET http://us-central1-localhost:8123/… HTTP/1.1`,
 * `Host: us-central1-localhost:8123`), and the region is read from the name.
 *
 * Only that form is accepted with such a Host (request-guard.ts): a browser
 * sends absolute request targets only to a proxy it was configured with, so a
 * page whose DNS name was rebound cannot use it; the token is required as for
 * every request.
 */

/** A Cloud Run region name: `us-central1`, `europe-west1`, `northamerica-northeast2`. */
const REGION = /^[a-z]+-[a-z]+\d+$/;
const SUFFIX = '-localhost';

/** The region of a `<region>-localhost` hostname (as URL.hostname gives it), or undefined. */
export function regionOfHostname(hostname: string): string | undefined {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (!host.endsWith(SUFFIX)) return undefined;
  const region = host.slice(0, -SUFFIX.length);
  return REGION.test(region) ? region : undefined;
}

/**
 * The authority (`host[:port]`, lower case) of an absolute-form request
 * target (`http://us-central1-localhost:8123/apis/…`, RFC 9112 §3.2.2), or
 * undefined for the usual origin form (`/apis/…`).
 */
export function absoluteTargetAuthority(target: string): string | undefined {
  if (!/^http:\/\//i.test(target) || !URL.canParse(target)) return undefined;
  const url = new URL(target);
  if (url.username !== '' || url.password !== '') return undefined;
  return url.host.toLowerCase();
}
