/**
 * Statements that may leave a custom-setting placeholder in the backend. `SET app.x = ...`
 * or `set_config('app.x', ...)` makes the backend define `app.x` for the rest of its life:
 * DISCARD ALL resets its value to '' but cannot remove it, so on a reused backend
 * `current_setting('app.x', true)` gives '' instead of NULL and `current_setting('app.x')`
 * no longer fails. Placeholders are not in pg_settings, so the pool's own check after the
 * reset cannot see them: the relay reads the text instead and such a backend is not reused.
 * Conservative on purpose: a false match costs one backend start, a miss a visible difference.
 */
const PLACEHOLDER =
  /set_config|\bset\s+(?:(?:session|local)\s+)?(?:"[^"]*"|[a-z_\u0080-\uffff][\w$\u0080-\uffff]*)\s*\./i;

/** The body of a Query or Parse (read as latin1: only ASCII matters here) may define a placeholder. */
export function mayDefinePlaceholder(body: Buffer): boolean {
  return PLACEHOLDER.test(body.toString('latin1'));
}
