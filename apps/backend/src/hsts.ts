/**
 * Strict-Transport-Security, one policy for the app's answers (app.ts) and the
 * single-writer gate's own (writer/gate.ts): production over HTTPS only, so
 * browsers that once reached the backend never try it over plain HTTP again
 * (two years; Cloud Run's front end answers HTTPS only anyway). No
 * `includeSubDomains`: a custom domain's other hosts are not ours. Never
 * locally, where the backend is plain HTTP on loopback.
 */
export const HSTS = 'max-age=63072000';

/** Whether answers carry {@link HSTS}: in production, when the public URL is HTTPS. */
export function sendsHsts(mode: 'local' | 'production', publicUrl: string | undefined): boolean {
  return mode === 'production' && !!publicUrl?.startsWith('https://');
}
