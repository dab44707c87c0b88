/**
 * The built-in functions a `call` step may name besides subworkflows and
 * `googleapis.*` connectors, in one table. `blocking` ones (network, sleep,
 * logging) run only as a call step and are refused inside an expression, as
 * Google's are ("Blocking calls",
 * https://cloud.google.com/workflows/docs/reference/syntax/expressions);
 * `expression` ones are ordinary standard-library functions that a call step
 * may name too. The parser's CALL_TARGETS and the standard library's
 * BLOCKING_FUNCTIONS are both derived from it; calls.ts runs them.
 */
export const BUILTIN_CALLS = {
  'http.get': 'blocking',
  'http.post': 'blocking',
  'http.put': 'blocking',
  'http.patch': 'blocking',
  'http.delete': 'blocking',
  'http.request': 'blocking',
  'sys.sleep': 'blocking',
  'sys.log': 'blocking',
  'sys.get_env': 'expression',
  'sys.now': 'expression',
} as const satisfies Record<string, 'blocking' | 'expression'>;

/** Every built-in a call step may name. */
export const CALL_TARGETS: ReadonlySet<string> = new Set(Object.keys(BUILTIN_CALLS));

/** Built-ins that block: only a `call` step may use them. */
export const BLOCKING_FUNCTIONS: ReadonlySet<string> = new Set(
  Object.entries(BUILTIN_CALLS)
    .filter(([, kind]) => kind === 'blocking')
    .map(([name]) => name),
);
