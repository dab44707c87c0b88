import type { Writable } from 'node:stream';

/** Cloud Logging severities we use (https://cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry#logseverity). */
export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

const RANK: Record<Severity, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 };

/** Field names whose values are never written to a log line. */
const SECRET_KEYS = /pass(word)?|secret|token|authorization|cookie|session/i;

/** A structured JSON-lines logger. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: Severity;
  /** Where lines go; stderr by default so stdout stays free for program output. */
  stream?: Writable;
  fields?: Record<string, unknown>;
}

function redact(value: unknown, depth = 0): unknown {
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    if ('code' in value) out.code = (value as { code: unknown }).code;
    if (value.stack) out.stack = value.stack;
    if (value.cause !== undefined) out.cause = redact(value.cause, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

/** Creates a logger writing one JSON object per line with Cloud Logging's `severity`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'INFO';
  const stream = options.stream ?? process.stderr;
  const base = options.fields ?? {};
  const write = (severity: Severity, message: string, fields?: Record<string, unknown>) => {
    if (RANK[severity] < RANK[level]) return;
    const entry = redact({ ...base, ...fields }) as Record<string, unknown>;
    stream.write(
      `${JSON.stringify({ severity, time: new Date().toISOString(), message, ...entry })}\n`,
    );
  };
  return {
    debug: (m, f) => write('DEBUG', m, f),
    info: (m, f) => write('INFO', m, f),
    warn: (m, f) => write('WARNING', m, f),
    error: (m, f) => write('ERROR', m, f),
    child: (fields) => createLogger({ level, stream, fields: { ...base, ...fields } }),
  };
}

/** A logger that writes nothing (tests, quiet CLIs). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
