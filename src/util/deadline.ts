/** How often the deadline looks at the clock. */
const TICK_MS = 100;

/**
 * Rejects when the promise has not settled within ms of time this process was free to read
 * its answer; the work itself runs on and a late answer is dropped. For a control-plane store
 * that neither answers nor refuses (a network partition), where waiting on would hang a login
 * or keep audit events only in memory.
 *
 * A plain timer set before long synchronous work here (a burst of appends hashing thousands of
 * events, a starved CPU) fires as soon as that work ends, before the store's answer, already
 * in the socket, is read: the store would be blamed for our own stall. So only time the event
 * loop was free counts: a tick that comes late counts for at most two ticks, and the answer
 * gets its turn to be read before the deadline is declared.
 */
export function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let counted = 0;
    let last = performance.now();
    let timer: NodeJS.Timeout;
    const tick = (): void => {
      const now = performance.now();
      counted += Math.min(now - last, 2 * TICK_MS);
      last = now;
      if (counted >= ms) reject(new Error(`${what}: no answer within ${ms} ms`));
      else timer = setTimeout(tick, TICK_MS);
    };
    timer = setTimeout(tick, TICK_MS);
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
