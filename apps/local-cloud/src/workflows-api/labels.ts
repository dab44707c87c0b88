/**
 * Labels of workflows and executions: "Labels can contain at most 64
 * entries. Keys and values can be no longer than 63 characters and can only
 * contain lowercase letters, numeric characters, underscores, and dashes.
 * Label keys must start with a letter. International characters are allowed."
 * (Workflow.labels in workflows.proto, Execution.labels in executions.proto.)
 * "International characters" are taken as letters without case (\p{Lo}, as
 * in CJK scripts) beside the lowercase ones; values may be empty.
 */
import { invalidArgument } from '../google-error.ts';
import { LIMITS } from '../limits.ts';

const MAX_LABELS = LIMITS.labels;
const LABEL_KEY = new RegExp(
  `^[\\p{Ll}\\p{Lo}][\\p{Ll}\\p{Lo}\\p{Nd}_-]{0,${LIMITS.labelChars - 1}}$`,
  'u',
);
const LABEL_VALUE = new RegExp(`^[\\p{Ll}\\p{Lo}\\p{Nd}_-]{0,${LIMITS.labelChars}}$`, 'u');

/** The labels of a request body (`undefined` when absent); 400 INVALID_ARGUMENT past Google's rules. */
export function validateLabels(value: unknown, field: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgument(`${field} must be a map of strings.`);
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_LABELS) {
    throw invalidArgument(
      `${field} may hold at most ${MAX_LABELS} entries; got ${entries.length}.`,
    );
  }
  for (const [k, v] of entries) {
    if (!LABEL_KEY.test(k)) {
      throw invalidArgument(
        `${field} key ${JSON.stringify(k)} must start with a lowercase letter and hold at most ${LIMITS.labelChars} lowercase letters, digits, underscores and dashes.`,
      );
    }
    if (typeof v !== 'string' || !LABEL_VALUE.test(v)) {
      throw invalidArgument(
        `${field}.${k} value ${JSON.stringify(v)} must be at most ${LIMITS.labelChars} lowercase letters, digits, underscores and dashes.`,
      );
    }
  }
  return value as Record<string, string>;
}
