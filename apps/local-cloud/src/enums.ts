/**
 * protobuf enums in JSON: "the name of the enum value as specified in proto
 * is used. Parsers accept both enum names and integer values"
 * (https://protobuf.dev/programming-guides/json/). The client libraries'
 * REST transport sends numbers (`enum-encoding=int`), gcloud names.
 */
import { invalidArgument } from './google-error.ts';

/** The name of `raw` among `values` (listed in proto order), else 400 INVALID_ARGUMENT naming `field`. */
export function enumName<T extends readonly string[]>(
  values: T,
  raw: unknown,
  field: string,
): T[number] {
  if (typeof raw === 'number' && values[raw] !== undefined) return values[raw];
  if (typeof raw === 'string' && (values as readonly string[]).includes(raw)) return raw;
  throw invalidArgument(`Invalid value at '${field}': ${JSON.stringify(raw)}`);
}
