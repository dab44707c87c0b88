/**
 * What a deploy hands each app, read from the gcloud commands the deploy files
 * really run (recorded by the gcloud double): the `--set-env-vars` and
 * `--set-secrets` of `gcloud run deploy` / `gcloud run jobs deploy|create` /
 * `gcloud workflows deploy`, and the variables Google's runtimes add.
 *
 * The apps' config loaders and the Workflows engine are imported from their
 * source files: the packages do not export them (they are composition-root
 * internals), and this contract test is the one place outside the apps that
 * needs them.
 */
import type { Recorded } from './gcloud-double.ts';

export { loadConfig as loadBackendConfig } from '../../../apps/backend/src/config.ts';
export {
  executeWorkflow,
  parseWorkflow,
  WorkflowRuntimeError,
} from '../../../apps/local-cloud/src/workflows/index.ts';
export { recordingContext } from '../../../apps/local-cloud/src/workflows/test-support.ts';
export { loadConfig as loadProcessorConfig } from '../../../apps/processor/src/config.ts';

/**
 * Parses a gcloud dict flag value: `K=V,K=V`, or with gcloud's alternate
 * delimiter syntax `^;^K=V;K=V` (`gcloud topic escaping`).
 */
export function parseDictFlag(value: string): Record<string, string> {
  let delimiter = ',';
  let body = value;
  const alternate = /^\^([^^]+)\^/.exec(value);
  if (alternate?.[1]) {
    delimiter = alternate[1];
    body = value.slice(alternate[0].length);
  }
  const out: Record<string, string> = {};
  for (const pair of body.split(delimiter)) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`not KEY=VALUE: ${pair} (in ${value})`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

/** The value of `--name=value` in an argv, or undefined. */
export function flag(argv: string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

/** The one recorded call whose argv starts with `words`; throws when there is not exactly one. */
export function onlyCall(calls: Recorded[], ...words: string[]): string[] {
  const found = calls.filter((c) => words.every((w, i) => c.argv[i] === w));
  if (found.length !== 1) {
    throw new Error(`expected one "gcloud ${words.join(' ')}" but the deploy ran ${found.length}`);
  }
  return (found[0] as Recorded).argv;
}

/** `--set-env-vars` of a deploy command, as a map. */
export function envOf(argv: string[]): Record<string, string> {
  const value = flag(argv, 'set-env-vars');
  if (value === undefined) throw new Error(`no --set-env-vars in ${argv.join(' ')}`);
  return parseDictFlag(value);
}

/** The variable names `--set-secrets` mounts (values come from Secret Manager). */
export function secretNamesOf(argv: string[]): string[] {
  const value = flag(argv, 'set-secrets');
  return value === undefined ? [] : Object.keys(parseDictFlag(value));
}

/**
 * What Cloud Run sets in every service container
 * (https://cloud.google.com/run/docs/container-contract#services-env-vars).
 */
export function cloudRunServiceEnv(service: string): Record<string, string> {
  return {
    PORT: '8080',
    K_SERVICE: service,
    K_REVISION: `${service}-00007-xyz`,
    K_CONFIGURATION: service,
  };
}

/**
 * What Cloud Run sets in every job task
 * (https://cloud.google.com/run/docs/container-contract#jobs-env-vars).
 */
export function cloudRunJobEnv(
  job: string,
  task: { index: number; attempt: number; count: number },
): Record<string, string> {
  return {
    CLOUD_RUN_JOB: job,
    CLOUD_RUN_EXECUTION: `${job}-abc12`,
    CLOUD_RUN_TASK_INDEX: String(task.index),
    CLOUD_RUN_TASK_ATTEMPT: String(task.attempt),
    CLOUD_RUN_TASK_COUNT: String(task.count),
  };
}

/**
 * What Workflows sets for `sys.get_env` besides the user's variables
 * (https://cloud.google.com/workflows/docs/reference/environment-variables).
 */
export function workflowsBuiltInEnv(project: string, location: string): Record<string, string> {
  return {
    GOOGLE_CLOUD_PROJECT_ID: project,
    GOOGLE_CLOUD_PROJECT_NUMBER: '123456789',
    GOOGLE_CLOUD_LOCATION: location,
    GOOGLE_CLOUD_WORKFLOW_ID: 'process-image',
    GOOGLE_CLOUD_WORKFLOW_REVISION_ID: '000001-abc',
    GOOGLE_CLOUD_WORKFLOW_EXECUTION_ID: 'exec-1',
  };
}

/** The user variables a workflow reads with `sys.get_env("…")` (not Google's built-ins). */
export function workflowUserEnvNames(source: string): string[] {
  const names = new Set<string>();
  for (const m of source.matchAll(/sys\.get_env\("([A-Z0-9_]+)"\)/g)) {
    if (m[1] && !m[1].startsWith('GOOGLE_CLOUD_')) names.add(m[1]);
  }
  return [...names].sort();
}

/** The env names the workflow puts in `containerOverrides` of its job runs. */
export function workflowOverrideEnvNames(definition: unknown): string[] {
  const names = new Set<string>();
  const walk = (node: unknown, underEnv: boolean): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, underEnv);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (underEnv && typeof record.name === 'string' && 'value' in record) names.add(record.name);
    for (const [key, value] of Object.entries(record)) walk(value, key === 'env');
  };
  walk(definition, false);
  return [...names].sort();
}
