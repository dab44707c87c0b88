/**
 * The images a workflow or job execution of the local stack is about, as the
 * fields of local-cloud's own log lines: `imageId`, or `imageIds` for a
 * batch — the names the backend's and the processor's lines use, so that one
 * grep by an image id follows it through `local-cloud.log` too
 * (docs/operations.md, "Monitoring"). Read only from what local-cloud already
 * holds parsed: a workflow execution's argument (`file_id` / `file_ids`, the
 * pipeline's `WorkflowArgument`, packages/contracts) and a job execution's
 * container env (`TARGET_FILE_ID` / `TARGET_FILE_IDS`, comma-joined, which the
 * workflow sets from that argument). Any other workflow or job gets no field.
 * Google's own platform logs name no image: a local convenience, listed among
 * the deviations in apps/local-cloud/README.md. A Cloud Tasks task is named
 * by its task name only: its body is opaque here, and the backend's
 * `dispatched` line ties the name (the dispatch key) to the image.
 */
import type { EnvVar } from './run/model.ts';

/** The image fields of a log line: one image, a batch's, or none. */
export type ImageLogFields = { imageId: string } | { imageIds: string[] } | Record<string, never>;

const isId = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** The images a workflow execution's (parsed) argument names. */
export function argumentImageFields(argument: unknown): ImageLogFields {
  if (argument === null || typeof argument !== 'object') return {};
  const { file_id: one, file_ids: many } = argument as Record<string, unknown>;
  if (Array.isArray(many) && many.every(isId)) return { imageIds: many };
  return isId(one) ? { imageId: one } : {};
}

/** The images an execution's argument text names ({} when it is no JSON: its run fails on it). */
export function argumentTextImageFields(text: string): ImageLogFields {
  try {
    return argumentImageFields(JSON.parse(text || 'null'));
  } catch {
    // The run reports the broken argument itself; the line only loses its image fields.
    return {};
  }
}

/** The images a job execution's container env names (none when the env is not a list: a poisoned row). */
export function envImageFields(env: readonly EnvVar[] | undefined): ImageLogFields {
  const list: readonly (EnvVar | null)[] = Array.isArray(env) ? env : [];
  const value = (name: string) => list.find((e) => e?.name === name)?.value;
  const many = value('TARGET_FILE_IDS');
  if (isId(many)) return { imageIds: many.split(',') };
  const one = value('TARGET_FILE_ID');
  return isId(one) ? { imageId: one } : {};
}
