/**
 * What a Cloud Run job may run here. A local job is a child process of the
 * developer's user, so its command line is code execution: a job's
 * `command` + `args` must equal one the local stack registered
 * (LOCAL_CLOUD_JOB_COMMANDS) — never one set through the API — and checked
 * again before every spawn, so a job stored by an older local-cloud cannot
 * run something else. Environment variables that make a program load other
 * code (NODE_OPTIONS, LD_PRELOAD…) or send its HTTP through another host
 * (NODE_USE_ENV_PROXY, HTTP_PROXY…) are refused for the same reason, and the
 * names Cloud Run reserves for jobs are refused as Google does.
 *
 * What the registered program does with its credentials is decided by its
 * environment too: the processor sends the callback secret to
 * BACKEND_API_URL and reads and writes where STORAGE_URL says. The stack pins
 * those variables (LOCAL_CLOUD_JOB_PINNED_ENV): every job must set each to
 * the registered value, checked with the command line (at create/patch, on
 * the overrides of every run, and before every spawn), and a secret pinned
 * to a name may be given to no other name.
 *
 * Secrets are env references to Secret Manager (`valueSource.secretKeyRef`,
 * https://cloud.google.com/run/docs/configuring/jobs/secrets): the API stores
 * and returns only the reference; the value is read from a file the local
 * stack registered (LOCAL_CLOUD_SECRET_FILES) when a task starts.
 */
import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '@slideshow/runtime';
import { ApiError, invalidArgument } from '../google-error.ts';
import { LIMITS } from '../limits.ts';

/** A Secret Manager reference as Cloud Run v2 writes it (SecretKeySelector). */
export interface SecretKeyRef {
  secret: string;
  version?: string;
}

/** A pinned variable's value: a literal, or a registered secret (`{"secret": "callback-secret"}`). */
export type PinnedValue = string | { readonly secret: string };

/** The parts of a container the policy decides on (model.ts Container). */
export interface ContainerToCheck {
  command?: readonly string[];
  args?: readonly string[];
  env?: readonly { name: string; value?: string; valueSource?: { secretKeyRef: SecretKeyRef } }[];
}

/** The job policy. */
export interface JobPolicy {
  /**
   * Throws PERMISSION_DENIED unless the container's `command` + `args` is a
   * registered command line and its env sets every pinned variable to its
   * registered value (and a pinned secret under no other name).
   */
  checkContainer(container: ContainerToCheck, field: string): void;
  /** Throws for a reserved, code-loading or proxy environment variable name. */
  checkEnvName(name: string, field: string): void;
  /** Validates a secret reference against the registered secrets; returns it normalised. */
  checkSecret(ref: unknown, field: string): SecretKeyRef;
  /** The secret's value, read now (throws when it cannot be read). */
  readSecret(ref: SecretKeyRef): string;
  /**
   * `env` of an execution stored by an earlier local-cloud, with every pinned secret variable
   * whose value is the empty literal left by the migration that blanked secrets stored in clear
   * (db.ts `blankSecretEnv`) given its pinned reference again, and the names so restored (none:
   * `env` as it was). Any other value is kept, for `checkContainer` to refuse.
   */
  restoreBlankedSecrets(env: readonly EnvEntry[]): { env: EnvEntry[]; restored: string[] };
}

/** One env entry of a container, as {@link ContainerToCheck} holds it. */
export type EnvEntry = NonNullable<ContainerToCheck['env']>[number];

/** Options of {@link createJobPolicy}. */
export interface JobPolicyOptions {
  /** Command lines jobs may run: each is `command` followed by `args`; a leading `node` means this Node binary. */
  commands: readonly (readonly string[])[];
  /** Secret name → file holding its value. */
  secretFiles: Readonly<Record<string, string>>;
  /** Variables every job must set to these values (default: none). */
  pinnedEnv?: Readonly<Record<string, PinnedValue>>;
  logger: Logger;
}

/**
 * Names Cloud Run sets in a job's containers (container runtime contract,
 * https://cloud.google.com/run/docs/container-contract#jobs-env-vars); Google
 * refuses them as reserved.
 */
const RESERVED = new Set([
  'CLOUD_RUN_JOB',
  'CLOUD_RUN_EXECUTION',
  'CLOUD_RUN_TASK_INDEX',
  'CLOUD_RUN_TASK_ATTEMPT',
  'CLOUD_RUN_TASK_COUNT',
]);

/**
 * Variables with which an environment chooses what code a program loads:
 * Node (`--require`/`--import` through NODE_OPTIONS, NODE_PATH), the dynamic
 * loader (LD_PRELOAD, LD_AUDIT, LD_LIBRARY_PATH…), glibc's iconv modules,
 * OpenSSL's configuration and module folders (Node reads OPENSSL_CONF at
 * start, and a configuration can load a provider or engine `.so`), Node's
 * compile cache (code read back from a folder the variable names), shells and
 * other runtimes, and PATH (which binary a name runs).
 */
const CODE_LOADING = new Set([
  'NODE_OPTIONS',
  'NODE_PATH',
  'NODE_REPL_EXTERNAL_MODULE',
  'PATH',
  'GCONV_PATH',
  'OPENSSL_CONF',
  'OPENSSL_CONF_INCLUDE',
  'OPENSSL_MODULES',
  'OPENSSL_ENGINES',
  'NODE_COMPILE_CACHE',
  'BASH_ENV',
  'ENV',
  'PYTHONSTARTUP',
  'PYTHONPATH',
  'PYTHONHOME',
  'PERL5OPT',
  'PERL5LIB',
  'RUBYOPT',
  'RUBYLIB',
  'JAVA_TOOL_OPTIONS',
  '_JAVA_OPTIONS',
]);

/**
 * Variables with which an environment sends a program's HTTP requests, and
 * their headers, through another host: Node's own proxy support
 * (NODE_USE_ENV_PROXY, then HTTP_PROXY/HTTPS_PROXY, for fetch and node:http
 * alike), and the proxy variables other clients read (gaxios, curl…), in
 * either case. A pinned BACKEND_API_URL means nothing if the request goes to a
 * proxy first.
 */
const ROUTING = new Set([
  'NODE_USE_ENV_PROXY',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'ALL_PROXY',
  'NO_PROXY',
]);

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** The secret id of a reference: `NAME` of `projects/P/secrets/NAME`. */
function secretIdOf(ref: SecretKeyRef): string {
  return ref.secret.split('/').at(-1) ?? ref.secret;
}

function normaliseArgv(argv: readonly string[]): string {
  return JSON.stringify(argv.map((a, i) => (i === 0 && a === 'node' ? process.execPath : a)));
}

/** Builds the policy from the local stack's configuration. */
export function createJobPolicy(options: JobPolicyOptions): JobPolicy {
  const allowed = new Set(options.commands.map(normaliseArgv));
  const pinned = options.pinnedEnv ?? {};
  const checkPinned = pinnedEnvCheck(pinned);
  const warnedLax = new Set<string>();
  return {
    checkContainer(container, field) {
      const argv = [...(container.command ?? []), ...(container.args ?? [])];
      if (!allowed.has(normaliseArgv(argv))) {
        throw new ApiError(
          'PERMISSION_DENIED',
          `${field}: local-cloud runs only the command lines its configuration registers (LOCAL_CLOUD_JOB_COMMANDS); ${JSON.stringify(argv)} is not one of them.`,
        );
      }
      checkPinned(container.env ?? [], `${field}.env`);
    },
    checkEnvName(name, field) {
      if (RESERVED.has(name)) {
        throw invalidArgument(`${field}: ${name} is a reserved environment variable name.`);
      }
      if (CODE_LOADING.has(name) || /^(LD_|DYLD_)/.test(name)) {
        throw new ApiError(
          'PERMISSION_DENIED',
          `${field}: local-cloud does not let the API set ${name}, which changes what code a job loads.`,
        );
      }
      if (ROUTING.has(name.toUpperCase())) {
        throw new ApiError(
          'PERMISSION_DENIED',
          `${field}: local-cloud does not let the API set ${name}, which sends a job's HTTP requests through another host.`,
        );
      }
    },
    checkSecret(raw, field) {
      const o = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
      const secret = typeof o.secret === 'string' ? o.secret : '';
      const name = secret.split('/').at(-1) ?? '';
      if (!SECRET_ID.test(name) || !/^(projects\/[^/]+\/secrets\/)?[^/]+$/.test(secret)) {
        throw invalidArgument(
          `${field}.secret must be SECRET_ID or projects/PROJECT/secrets/SECRET_ID.`,
        );
      }
      const version = o.version === undefined ? undefined : String(o.version);
      if (version !== undefined && version !== 'latest') {
        throw invalidArgument(
          `${field}.version: local-cloud keeps one version of each secret; use 'latest'.`,
        );
      }
      if (!Object.hasOwn(options.secretFiles, name)) {
        throw new ApiError(
          'NOT_FOUND',
          `Secret ${name} was not found: local-cloud knows only the secrets its configuration registers (LOCAL_CLOUD_SECRET_FILES).`,
        );
      }
      return version === undefined ? { secret } : { secret, version };
    },
    restoreBlankedSecrets(env) {
      const restored: string[] = [];
      const next = env.map((e) => {
        const value = Object.hasOwn(pinned, e.name) ? pinned[e.name] : undefined;
        const blanked = e.valueSource === undefined && (e.value ?? '') === '';
        if (value === undefined || typeof value === 'string' || !blanked) return e;
        restored.push(e.name);
        return {
          name: e.name,
          valueSource: { secretKeyRef: { secret: value.secret, version: 'latest' } },
        };
      });
      return { env: next, restored };
    },
    readSecret(ref) {
      const name = secretIdOf(ref);
      const file = Object.hasOwn(options.secretFiles, name) ? options.secretFiles[name] : undefined;
      if (file === undefined) throw new Error(`secret ${name} is not registered`);
      const stat = statSync(file);
      if (stat.size > LIMITS.secretBytes) {
        throw new Error(`secret ${name} is larger than Secret Manager's 64 KiB`);
      }
      if ((stat.mode & 0o077) !== 0 && !warnedLax.has(file)) {
        warnedLax.add(file);
        options.logger.warn('a secret file is readable by other users; chmod 600 it', {
          secretName: name,
          file,
        });
      }
      // One trailing newline is the file's line ending, not part of the secret.
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    },
  };
}

/**
 * The check of a container's env against the pinned variables: each must be
 * set, and every entry of its name hold the pinned value (a duplicate entry
 * would otherwise win in the child). Unset is refused too: without
 * STORAGE_URL the processor would take GCS_BUCKET_NAME and GCS_API_ENDPOINT
 * instead, a store anywhere.
 */
function pinnedEnvCheck(
  pinned: Readonly<Record<string, PinnedValue>>,
): (env: NonNullable<ContainerToCheck['env']>, field: string) => void {
  const refuse = (field: string, message: string) =>
    new ApiError(
      'PERMISSION_DENIED',
      `${field}: ${message} (local-cloud's configuration pins it: LOCAL_CLOUD_JOB_PINNED_ENV).`,
    );
  // Secret id → the names it is pinned to.
  const pinnedSecrets = new Map<string, string[]>();
  for (const [name, value] of Object.entries(pinned)) {
    if (typeof value !== 'string') {
      pinnedSecrets.set(value.secret, [...(pinnedSecrets.get(value.secret) ?? []), name]);
    }
  }
  return (env, field) => {
    for (const [name, value] of Object.entries(pinned)) {
      const entries = env.filter((e) => e.name === name);
      const wanted = typeof value === 'string' ? JSON.stringify(value) : `secret ${value.secret}`;
      if (entries.length === 0) throw refuse(field, `a job must set ${name} to ${wanted}`);
      for (const e of entries) {
        const ref = e.valueSource?.secretKeyRef;
        const same =
          typeof value === 'string'
            ? ref === undefined && (e.value ?? '') === value
            : ref !== undefined && secretIdOf(ref) === value.secret;
        if (!same) throw refuse(field, `${name} must be ${wanted}, not another value`);
      }
    }
    for (const e of env) {
      const ref = e.valueSource?.secretKeyRef;
      const id = ref === undefined ? undefined : secretIdOf(ref);
      const owners = id === undefined ? undefined : pinnedSecrets.get(id);
      if (owners !== undefined && !owners.includes(e.name)) {
        throw refuse(
          field,
          `secret ${id} may be given only as ${owners.join(' or ')}, not as ${e.name}`,
        );
      }
    }
  };
}
