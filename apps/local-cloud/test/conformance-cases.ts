/**
 * The Workflows conformance suite's cases: the workflows in test/conformance/
 * (written for this project), what each must return or how each must be
 * refused at deploy, with the Google page that documents it. Driven through
 * the HTTP API (workflows-conformance.test.ts) and the real gcloud
 * (workflows-conformance-gcloud.shared-test.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Folder of the conformance workflows. */
export const CONFORMANCE_DIR = fileURLToPath(new URL('./conformance/', import.meta.url));

/** The source of a conformance workflow, e.g. `conformanceSource('expressions')`. */
export function conformanceSource(name: string): string {
  return readFileSync(`${CONFORMANCE_DIR}${name}.workflows.yaml`, 'utf8');
}

/** A workflow that runs to SUCCEEDED with this result. */
export interface SucceedingCase {
  readonly name: string;
  readonly argument: unknown;
  readonly result: unknown;
}

/** Workflows without outside parties: argument → result, as the cited pages document. */
export const SUCCEEDING: readonly SucceedingCase[] = [
  // parallel-steps: iterations over a list (value, index), map keys and a range; shared writes.
  {
    name: 'parallel-loops',
    argument: { limit: 2 },
    result: { weights: 60, positions: 3, stock: 12, ticks: 21 },
  },
  // parallel-steps + error-types: continueAll lets the others finish, then UnhandledBranchError.
  {
    name: 'parallel-failures',
    argument: null,
    result: {
      tags: ['UnhandledBranchError'],
      ids: ['0', '2'],
      payloads: ['"bad 1"', '"bad 3"'],
      completed: 2,
      truncated: false,
    },
  },
  // subworkflows in expressions, if(), hash.compute_checksum (Google's documented digest), time.format.
  {
    name: 'expressions',
    argument: { side: 4 },
    result: {
      area: 16,
      size: 'large',
      tag: 'area=16!',
      sha256: 'pZGm1Av0IEBKARczz7exkNYsZb8LzaMrV7J32a2fFG4=',
      tokyo: '2024-01-10T09:00:00.000000+09:00',
      utc: '2024-01-10T00:00:00.000000Z',
    },
  },
];

/** Definitions Google refuses at deploy, with the message (and line) local-cloud gives. */
export const REJECTED: readonly { readonly name: string; readonly message: string }[] = [
  // variables#variable-scope: "This local scoping also applies to any variable created inside an except block."
  { name: 'except-scope', message: 'variable reason is not defined in this scope (line 13)' },
  // variables#variable-scope: loop variables do not exist after the loop.
  { name: 'loop-scope', message: 'variable stone is not defined in this scope (line 11)' },
  // parallel shared-variables sample: "deployment error, defined in the parent scope but not marked shared".
  {
    name: 'unshared-write',
    message:
      'variable total belongs to the scope enclosing a parallel step and is not listed in its shared variables (line 12)',
  },
  { name: 'duplicate-step', message: 'duplicate step name first (line 7)' },
  { name: 'unknown-next', message: 'next: unknown step nowhere (line 3)' },
  { name: 'reserved-name', message: 'step name end is reserved for next (line 2)' },
  { name: 'undefined-subworkflow', message: 'undefined subworkflow missing_helper (line 5)' },
  { name: 'argument-mismatch', message: 'add takes 2 argument(s) but 3 were given (line 5)' },
];
