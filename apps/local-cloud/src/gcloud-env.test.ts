import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gcloudEnvironment } from './gcloud-env.ts';

const target = {
  port: 8123,
  tokenFile: '/repo/.data/local-cloud.token',
  projectId: 'local-project',
  location: 'us-central1',
};

/** The `export NAME=value` lines of a README's gcloud section. */
function exportsIn(readme: string, heading: string): Record<string, string> {
  const text = readFileSync(new URL(readme, import.meta.url), 'utf8');
  const start = text.indexOf(heading);
  expect(start, `${readme} has a section "${heading}"`).toBeGreaterThan(-1);
  const section = text.slice(start, text.indexOf('\n## ', start + heading.length));
  const found: Record<string, string> = {};
  for (const m of section.matchAll(/^export (CLOUDSDK_[A-Z_]+)=(\S+)/gm)) {
    if (m[1] && m[2]) found[m[1]] = m[2];
  }
  return found;
}

describe('the environment that points gcloud at local-cloud', () => {
  it('overrides the three emulated APIs, sends Cloud Run through local-cloud as a proxy, and uses its token', () => {
    expect(gcloudEnvironment(target)).toEqual({
      CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS: 'http://127.0.0.1:8123/',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWS: 'http://127.0.0.1:8123/',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_WORKFLOWEXECUTIONS: 'http://127.0.0.1:8123/',
      CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN: 'http://localhost:8123/',
      CLOUDSDK_PROXY_TYPE: 'http',
      CLOUDSDK_PROXY_ADDRESS: '127.0.0.1',
      CLOUDSDK_PROXY_PORT: '8123',
      CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: '/repo/.data/local-cloud.token',
      CLOUDSDK_CORE_PROJECT: 'local-project',
      CLOUDSDK_RUN_REGION: 'us-central1',
    });
  });

  it('is what the README tells people to export (plus a private CLOUDSDK_CONFIG)', () => {
    const readme = exportsIn('../README.md', '## Pointing gcloud at it');
    const { CLOUDSDK_CONFIG: _config, CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: file, ...rest } = readme;
    const expected = gcloudEnvironment(target);
    const { CLOUDSDK_AUTH_ACCESS_TOKEN_FILE: _file, ...expectedRest } = expected;
    expect(rest).toEqual(expectedRest);
    expect(file).toBe('$PWD/.data/local-cloud.token');
    expect(Object.keys(readme)).toContain('CLOUDSDK_CONFIG');
  });
});
