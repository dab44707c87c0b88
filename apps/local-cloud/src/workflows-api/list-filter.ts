/**
 * `filter` of executions.list
 * (https://cloud.google.com/workflows/docs/reference/executions/rest/v1/projects.locations.workflows.executions/list):
 * "The following fields are supported for filtering: executionId, state,
 * createTime, startTime, endTime, duration, workflowRevisionId, stepName, and
 * label. For details, see AIP-160", e.g. `startTime>"2023-08-01" AND state="FAILED"`.
 *
 * The subset understood here (https://google.aip.dev/160): comparisons
 * `field OP value` with `=` and `!=` on every field below and `<`, `<=`, `>`,
 * `>=` on the times and `duration`; `AND`, `OR` (which binds tighter than
 * `AND`, as AIP-160 says), `NOT` / `-`, parentheses, and terms side by side
 * (an implicit AND). Anything else — `stepName`, the `:` operator, functions,
 * an unknown field or state — is 400 INVALID_ARGUMENT rather than a filter
 * silently ignored.
 */
import { invalidArgument } from '../google-error.ts';
import { parseTimestamp } from '../time.ts';
import type { WorkflowExecution } from './store.ts';

/** A parsed filter: whether an execution is kept. */
export type ExecutionFilter = (e: WorkflowExecution) => boolean;

/**
 * Equalities every kept execution satisfies (top-level `AND` terms `state="X"`
 * and `labels.K="V"`), which the store applies in SQL on its indexes before
 * `keep` sees a row; `keep` still decides.
 */
export interface FilterPushdown {
  states: string[];
  labels: [key: string, value: string][];
}

/** A parsed filter: the predicate and what of it SQL can apply first. */
export interface ParsedExecutionFilter {
  keep: ExecutionFilter;
  pushdown: FilterPushdown;
}

type Op = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** Execution.State in executions.proto (local-cloud itself only sets the first five). */
const STATES = new Set(
  'STATE_UNSPECIFIED ACTIVE SUCCEEDED FAILED CANCELLED UNAVAILABLE QUEUED'.split(' '),
);

/** How a field reads its value from an execution, and how a filter's value is read. */
interface Field {
  ordered: boolean;
  get(e: WorkflowExecution): string | number | undefined;
  parse(raw: string, field: string): string | number;
}

const text = (raw: string) => raw;
/** A date alone: RFC 3339's `full-date`, as in Google's own example `startTime>"2023-08-01"`. */
const FULL_DATE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A filter's time, as strictly as every other timestamp local-cloud reads (time.ts): a zone is
 * required, so `"2026-12-07T21:33:36"` is refused rather than read in the server's time zone
 * (Date.parse did), as are `"2026-02-30"`, `"5"` and `"Dec 7 2026"`. A date alone is that day's
 * start in UTC.
 */
const timestamp = (raw: string, field: string) =>
  parseTimestamp(FULL_DATE.test(raw) ? `${raw}T00:00:00Z` : raw, `filter: ${field}`);
const time = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));

const FIELDS: Record<string, Field> = {
  executionId: { ordered: false, get: (e) => e.name.split('/').pop(), parse: text },
  workflowRevisionId: { ordered: false, get: (e) => e.workflowRevisionId, parse: text },
  state: {
    ordered: false,
    get: (e) => e.state,
    parse: (raw) => {
      if (!STATES.has(raw)) {
        throw invalidArgument(`filter: unknown state ${JSON.stringify(raw)}`);
      }
      return raw;
    },
  },
  createTime: { ordered: true, get: (e) => time(e.createTime ?? e.startTime), parse: timestamp },
  startTime: { ordered: true, get: (e) => time(e.startTime), parse: timestamp },
  endTime: { ordered: true, get: (e) => time(e.endTime), parse: timestamp },
  duration: {
    ordered: true,
    get: (e) => (e.duration === undefined ? undefined : Number.parseFloat(e.duration)),
    parse: (raw, field) => {
      const m = /^(\d+(?:\.\d+)?)s$/.exec(raw);
      if (m?.[1] === undefined) {
        throw invalidArgument(
          `filter: ${field} needs a duration like "10s", not ${JSON.stringify(raw)}`,
        );
      }
      return Number(m[1]);
    },
  },
};

/** A label key, as `labels.KEY` (local-cloud's and the dispatch adapter's form) or `label.KEY`. */
function labelField(name: string): (Field & { label: string }) | undefined {
  const key = /^labels?\.(.+)$/.exec(name)?.[1];
  if (key === undefined) return undefined;
  return { ordered: false, get: (e) => e.labels?.[key], parse: text, label: key };
}

/** A comparison that the store can apply in SQL: `state = X` or `labels.K = V`. */
type Equality = { state: string } | { label: string; value: string };

const TOKEN = /\s*(?:(\()|(\))|(<=|>=|!=|=|<|>|:)|"((?:[^"\\]|\\.)*)"|([^\s()"=<>!:]+))/y;

type Token =
  | { kind: '(' | ')' }
  | { kind: 'op'; op: string }
  | { kind: 'string'; value: string }
  | { kind: 'word'; value: string };

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < filter.length) {
    if (/^\s*$/.test(filter.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(filter);
    if (m === null) {
      throw invalidArgument(`filter: cannot read ${JSON.stringify(filter.slice(at))}`);
    }
    if (m[1] !== undefined) tokens.push({ kind: '(' });
    else if (m[2] !== undefined) tokens.push({ kind: ')' });
    else if (m[3] !== undefined) tokens.push({ kind: 'op', op: m[3] });
    else if (m[4] !== undefined)
      tokens.push({ kind: 'string', value: m[4].replace(/\\(.)/g, '$1') });
    else tokens.push({ kind: 'word', value: m[5] ?? '' });
  }
  return tokens;
}

const compare = (op: Op, x: string | number, y: string | number): boolean => {
  switch (op) {
    case '=':
      return x === y;
    case '!=':
      return x !== y;
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    case '>=':
      return x >= y;
  }
};

/** The equalities among a filter's top-level `AND` terms. */
function pushdownOf(
  terms: readonly ExecutionFilter[],
  equalities: ReadonlyMap<ExecutionFilter, Equality>,
): FilterPushdown {
  const pushdown: FilterPushdown = { states: [], labels: [] };
  for (const term of terms) {
    const eq = equalities.get(term);
    if (eq === undefined) continue;
    if ('state' in eq) pushdown.states.push(eq.state);
    else pushdown.labels.push([eq.label, eq.value]);
  }
  return pushdown;
}

/** A recursive-descent parser over the tokens (AIP-160's grammar, the subset above). */
function parser(tokens: Token[]) {
  let i = 0;
  const equalities = new Map<ExecutionFilter, Equality>();
  const peek = () => tokens[i];
  const isWord = (t: Token | undefined, w: string) => t?.kind === 'word' && t.value === w;

  function comparison(): ExecutionFilter {
    const name = tokens[i++];
    if (name?.kind !== 'word') throw invalidArgument('filter: expected a field name');
    const label = labelField(name.value);
    const field = Object.hasOwn(FIELDS, name.value) ? FIELDS[name.value] : label;
    if (field === undefined) {
      throw invalidArgument(
        `filter: unsupported field ${JSON.stringify(name.value)} (supported: ${Object.keys(FIELDS).join(', ')}, labels.KEY)`,
      );
    }
    const op = tokens[i++];
    if (op?.kind !== 'op' || op.op === ':') {
      throw invalidArgument(`filter: expected =, !=, <, <=, > or >= after ${name.value}`);
    }
    if (!field.ordered && op.op !== '=' && op.op !== '!=') {
      throw invalidArgument(`filter: ${name.value} can only be compared with = or !=`);
    }
    const raw = tokens[i++];
    if (raw?.kind !== 'string' && raw?.kind !== 'word') {
      throw invalidArgument(`filter: expected a value after ${name.value}${op.op}`);
    }
    const value = field.parse(raw.value, name.value);
    const o = op.op as Op;
    const keep: ExecutionFilter = (e) => {
      const v = field.get(e);
      // A field the execution lacks (endTime while ACTIVE, a label it does not carry)
      // equals nothing, so only != keeps it.
      if (v === undefined || Number.isNaN(v)) return o === '!=';
      return compare(o, v, value);
    };
    if (o === '=' && typeof value === 'string') {
      if (name.value === 'state') equalities.set(keep, { state: value });
      else if (field === label) equalities.set(keep, { label: label.label, value });
    }
    return keep;
  }

  function unary(): ExecutionFilter {
    const t = peek();
    if (isWord(t, 'NOT') || (t?.kind === 'word' && t.value === '-')) {
      i++;
      const inner = unary();
      return (e) => !inner(e);
    }
    if (t?.kind === 'word' && t.value.startsWith('-') && t.value.length > 1) {
      tokens[i] = { kind: 'word', value: t.value.slice(1) };
      const inner = unary();
      return (e) => !inner(e);
    }
    if (t?.kind === '(') {
      i++;
      const inner = conjunction();
      if (tokens[i++]?.kind !== ')') throw invalidArgument('filter: missing )');
      return inner;
    }
    return comparison();
  }

  function disjunction(): ExecutionFilter {
    const terms = [unary()];
    while (isWord(peek(), 'OR')) {
      i++;
      terms.push(unary());
    }
    // One term is returned as itself, so a top-level equality stays recognisable.
    return terms.length === 1 ? (terms[0] as ExecutionFilter) : (e) => terms.some((t) => t(e));
  }

  function conjunctionTerms(): ExecutionFilter[] {
    const terms = [disjunction()];
    for (;;) {
      const t = peek();
      if (t === undefined || t.kind === ')') break;
      if (isWord(t, 'AND')) i++;
      terms.push(disjunction());
    }
    return terms;
  }

  function conjunction(): ExecutionFilter {
    const terms = conjunctionTerms();
    return (e) => terms.every((t) => t(e));
  }

  return {
    parse(): ParsedExecutionFilter {
      const terms = conjunctionTerms();
      if (i < tokens.length) throw invalidArgument('filter: unexpected )');
      return { keep: (e) => terms.every((t) => t(e)), pushdown: pushdownOf(terms, equalities) };
    },
  };
}

/** Parses an executions.list `filter`; 400 INVALID_ARGUMENT for anything outside the subset. */
export function parseExecutionFilter(filter: string | null): ParsedExecutionFilter {
  if (filter === null || filter.trim() === '') {
    return { keep: () => true, pushdown: { states: [], labels: [] } };
  }
  return parser(tokenize(filter)).parse();
}
