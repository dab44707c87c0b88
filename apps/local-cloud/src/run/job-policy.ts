/**
 * What a Cloud Run job may run here. A local job is a child process of the
 * developer's user, so its command line is code execution: a job's
 * `command` + `args` must equal one the local stack registered
 * (LOCAL_CLOUD_JOB_COMMANDS) — never one set through the API — and checked
 * again before every spawn, so a job stored by an older local-cloud cannot
 * run something else. Environment variables that make a program load other
 * code (NODE_OPTIONS, LD_PRELOAD…) are refused for the same reason, and the
 * names Cloud Run reserves for jobs are refused as Google does.
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

/** The job policy. */
export interface JobPolicy {
  /** Throws PERMISSION_DENIED unless `command` + `args` is a registered command line. */
  checkCommand(command: readonly string[], args: readonly string[], field: string): void;
  /** Throws for a reserved or code-loading environment variable name. */
  checkEnvName(name: string, field: string): void;
  /** Validates a secret reference against the registered secrets; returns it normalised. */
  checkSecret(ref: unknown, field: string): SecretKeyRef;
  /** The secret's value, read now (throws when it cannot be read). */
  readSecret(ref: SecretKeyRef): string;
}

/** Options of {@link createJobPolicy}. */
export interface JobPolicyOptions {
  /** Command lines jobs may run: each is `command` followed by `args`; a leading `node` means this Node binary. */
  commands: readonly (readonly string[])[];
  /** Secret name → file holding its value. */
  secretFiles: Readonly<Record<string, string>>;
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

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

function normaliseArgv(argv: readonly string[]): string {
  return JSON.stringify(argv.map((a, i) => (i === 0 && a === 'node' ? process.execPath : a)));
}

/** Builds the policy from the local stack's configuration. */
export function createJobPolicy(options: JobPolicyOptions): JobPolicy {
  const allowed = new Set(options.commands.map(normaliseArgv));
  const warnedLax = new Set<string>();
  const secretName = (ref: SecretKeyRef) => ref.secret.split('/').at(-1) ?? ref.secret;
  return {
    checkCommand(command, args, field) {
      if (allowed.has(normaliseArgv([...command, ...args]))) return;
      throw new ApiError(
        'PERMISSION_DENIED',
        `${field}: local-cloud runs only the command lines its configuration registers (LOCAL_CLOUD_JOB_COMMANDS); ${JSON.stringify([...command, ...args])} is not one of them.`,
      );
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
    readSecret(ref) {
      const name = secretName(ref);
      const file = Object.hasOwn(options.secretFiles, name) ? options.secretFiles[name] : undefined;
      if (file === undefined) throw new Error(`secret ${name} is not registered`);
      const stat = statSync(file);
      if (stat.size > LIMITS.secretBytes) {
        throw new Error(`secret ${name} is larger than Secret Manager's 64 KiB`);
      }
      if ((stat.mode & 0o077) !== 0 && !warnedLax.has(file)) {
        warnedLax.add(file);
        options.logger.warn('a secret file is readable by other users; chmod 600 it', {
          secret: name,
          file,
        });
      }
      // One trailing newline is the file's line ending, not part of the secret.
      return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    },
  };
}
