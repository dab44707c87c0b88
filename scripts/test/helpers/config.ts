/**
 * The one place the ops tests read the environment: the variables child
 * processes (scripts, gcloud, bash) inherit, and the PATH they search.
 */

/** The test process's environment, as inherited by the scripts it runs. */
export const inheritedEnv: Readonly<Record<string, string | undefined>> = { ...process.env };

/** The test process's PATH. */
export const hostPath: string = process.env.PATH ?? '';
