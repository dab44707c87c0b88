// A regeneration's ETA in words (admin-regenerate.js): seconds under 90 s,
// minutes under 90 min, then hours and minutes — "930 min" read as a number to
// divide, "15 h 30 min" reads at once. Pure, so it is tested without a page
// (apps/backend/test/console-eta.test.ts).

/** `seconds` left as the panel shows them; a dash when unknown, "paused" for a paused run. */
export function etaText(seconds, status) {
  if (status === 'paused') return '— (paused)';
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}
