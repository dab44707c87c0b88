/**
 * The environment that points the real gcloud at a local-cloud — one list,
 * used by the `gcloud.ts` wrapper, the tests that run gcloud, and shown in
 * the README:
 *
 * - Cloud Tasks, Workflows and Workflow Executions: endpoint overrides to
 *   local-cloud's URL (gcloud calls them as given).
 * - Cloud Run: gcloud puts the region in front of the override's host
 *   (regional-host.ts), so the override is `http://localhost:PORT/` and
 *   gcloud's own proxy settings (`proxy/type`, `proxy/address`,
 *   `proxy/port`; cloud.google.com/sdk/docs/proxy-settings: they override
 *   `http_proxy` and ignore `no_proxy`) send every call to local-cloud, which reads the region
 *   from `us-central1-localhost`. Nothing gcloud would send elsewhere leaves
 *   the machine: local-cloud refuses to tunnel (CONNECT).
 * - local-cloud's token as gcloud's access token (`auth/access_token_file`),
 *   the project, and the Cloud Run region (`run/region`) so `--region` may be
 *   left out.
 */

/** Where the local-cloud is and who it says it is. */
export interface GcloudTarget {
  port: number;
  tokenFile: string;
  projectId: string;
  location: string;
}

/** The CLOUDSDK_* variables for `target`. */
export function gcloudEnvironment(target: GcloudTarget): Record<string, string> {
  const url = `http://127.0.0.1:${target.port}/`;
  return {
    CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS: url,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWS: url,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWEXECUTIONS: url,
    CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: `http://localhost:${target.port}/`,
    CLOUDSDK_PROXY_TYPE: 'http',
    CLOUDSDK_PROXY_ADDRESS: '127.0.0.1',
    CLOUDSDK_PROXY_PORT: String(target.port),
    CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: target.tokenFile,
    CLOUDSDK_CORE_PROJECT: target.projectId,
    CLOUDSDK_RUN_REGION: target.location,
  };
}
