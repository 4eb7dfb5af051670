/**
 * Retries a check until it passes: for outcomes that arrive asynchronously (a NOTIFY applied,
 * a session registered, a log line written). The timeout is generous on purpose: it only
 * decides how long a broken build takes to fail, never whether a slow machine passes. How
 * fast something happens is the bench's question, not a correctness test's.
 */

/** Long enough for a loaded 2-core machine running the whole suite; below the test timeout. */
export const EVENTUALLY_TIMEOUT_MS = 20_000;

export interface EventuallyOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `check` (an assertion: it throws when the outcome is not there yet) until it returns,
 * and resolves with what it returned. After the timeout it rejects with the last error the
 * check threw, so the failure reads like the assertion itself.
 */
export async function eventually<T>(check: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? EVENTUALLY_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? 25;
  const started = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await check();
    } catch (err) {
      const elapsed = performance.now() - started;
      if (elapsed >= timeoutMs) {
        if (err instanceof Error) {
          err.message += `\n(eventually: still failing after ${attempt} attempts over ${Math.round(elapsed)} ms)`;
          throw err;
        }
        throw new Error(
          `eventually: still failing after ${attempt} attempts over ${Math.round(elapsed)} ms: ${String(err)}`,
          { cause: err },
        );
      }
    }
    await pause(intervalMs);
  }
}
