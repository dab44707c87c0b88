/**
 * Kubernetes label selectors, as the Cloud Run Admin API v1 list methods
 * take them (`labelSelector`: "Supported operations are =, !=, exists, in,
 * and notIn", namespaces.executions.list): comma-separated requirements
 * `key = value`, `key == value`, `key != value`, `key in (a, b)`,
 * `key notin (a, b)`, `key` and `!key`. gcloud sends
 * `run.googleapis.com/job = my-job` and
 * `run.googleapis.com/execution = my-job-x1y2z,run.googleapis.com/runningState in (Running,Failed)`.
 */
import { invalidArgument } from '../google-error.ts';

/** One requirement of a selector. */
interface Requirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | 'absent';
  values: string[];
}

/** A parsed selector: matches a label map. */
export type LabelSelector = (labels: Readonly<Record<string, string>>) => boolean;

/** Splits at commas outside parentheses. */
function requirements(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (depth < 0) throw invalidArgument(`Invalid labelSelector: unbalanced ")" in ${text}`);
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (depth !== 0) throw invalidArgument(`Invalid labelSelector: unbalanced "(" in ${text}`);
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';

function parseRequirement(text: string): Requirement {
  let m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*([-A-Za-z0-9_.]*)$`).exec(text);
  if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) {
    return { key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] };
  }
  m = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^()]*)\\)$`, 'i').exec(text);
  if (m?.[1] !== undefined && m[2] !== undefined && m[3] !== undefined) {
    const values = m[3]
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    return { key: m[1], op: m[2].toLowerCase() === 'in' ? 'in' : 'notin', values };
  }
  m = new RegExp(`^(!?)\\s*(${KEY})$`).exec(text);
  if (m?.[2] !== undefined)
    return { key: m[2], op: m[1] === '!' ? 'absent' : 'exists', values: [] };
  throw invalidArgument(`Invalid labelSelector requirement: ${JSON.stringify(text)}`);
}

/** Parses `labelSelector` (empty or absent: everything matches). */
export function parseLabelSelector(text: string | null): LabelSelector {
  const reqs = requirements(text ?? '').map(parseRequirement);
  return (labels) =>
    reqs.every((r) => {
      const value = labels[r.key];
      if (r.op === 'exists') return value !== undefined;
      if (r.op === 'absent') return value === undefined;
      if (r.op === 'in') return value !== undefined && r.values.includes(value);
      return value === undefined || !r.values.includes(value);
    });
}

/**
 * The single value a selector requires for `key` (`key = v`), or undefined:
 * lets a list read only the rows it can match (e.g. one job's executions).
 */
export function requiredValue(text: string | null, key: string): string | undefined {
  for (const r of requirements(text ?? '').map(parseRequirement)) {
    if (r.key === key && r.op === 'in' && r.values.length === 1) return r.values[0];
  }
  return undefined;
}
