import { isSecretField } from './secret-fields.ts';

/** Cloud Logging severities we use (https://cloud.google.com/logging/docs/reference/v2/rest/v2/LogEntry#logseverity). */
export type Severity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

const RANK: Record<Severity, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 };

/** A structured JSON-lines logger. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger;
}

/** Where log lines go: anything with a `write(line)`, such as a Writable. */
export interface LogSink {
  write(line: string): unknown;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: Severity;
  /** Where lines go; {@link stderrSink} by default so stdout stays free for program output. */
  stream?: LogSink;
  fields?: Record<string, unknown>;
}

/**
 * Writes each line to file descriptor 2 with a blocking write, without creating
 * `process.stderr`. On Linux Node writes stderr synchronously when it is a file, a pipe
 * or a terminal ("A note on process I/O" in Node's `process` docs), so lines are written
 * as before; what is saved is building the stream (for a pipe, a `net.Socket` and the
 * stream machinery), ~1.5–2 ms of CPU at the start of every process — a processor task
 * logs its first line on the path to its first read (apps/processor/README.md, "Start-up").
 * Once anything creates `process.stderr` on a pipe, libuv makes the descriptor
 * non-blocking; when the reader then falls behind, the write fails with EAGAIN and this
 * sink hands that line's rest and every later line to `process.stderr`, which queues
 * them in order.
 *
 * A destination that is gone (a closed terminal: EIO; a pipe whose reader exited: EPIPE)
 * drops the line: it has nowhere to go, and a log call must never fail its caller — a
 * shutdown that logs "shutting down" to a closed terminal still syncs and releases its lease.
 */
export const stderrSink: LogSink = (() => {
  let queued = false;
  let gone = false;
  const handOver = (bytes: Buffer | string): boolean => {
    if (!queued) {
      queued = true;
      // process.stderr reports a failed write as an 'error' event, which would end the process.
      process.stderr.on('error', () => undefined);
    }
    return process.stderr.write(bytes);
  };
  return {
    write(line: string) {
      if (gone) return false;
      if (queued) return handOver(line);
      const { writeSync } = process.getBuiltinModule('node:fs');
      const bytes = Buffer.from(line, 'utf8');
      let offset = 0;
      // Bounded: every pass writes at least one byte or leaves the loop.
      while (offset < bytes.length) {
        let written = 0;
        try {
          written = writeSync(2, bytes, offset);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') {
            gone = true;
            return false;
          }
        }
        if (written <= 0) return handOver(bytes.subarray(offset));
        offset += written;
      }
      return true;
    },
  };
})();

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
    out[k] = isSecretField(k) ? '[redacted]' : redact(v, depth + 1);
  }
  return out;
}

/** Creates a logger writing one JSON object per line with Cloud Logging's `severity`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'INFO';
  const stream = options.stream ?? stderrSink;
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
