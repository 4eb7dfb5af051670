/**
 * Rejects when the promise has not settled within ms. The work itself runs on and its late
 * answer is dropped: for a control-plane store that neither answers nor refuses (a network
 * partition), where waiting on would hang a login or keep audit events only in memory.
 */
export function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}
