import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Where a client's cancel goes: the upstream backend that is running its statement. */
export interface CancelTarget {
  /** Sends the upstream's own cancel; the gateway never shows upstream keys to clients. */
  cancel(): void;
  /** False when the session is idle, so a late cancel cannot hit the next statement. */
  busy(): boolean;
}

interface Entry {
  key: Buffer;
  target: CancelTarget;
}

/**
 * Maps the synthetic BackendKeyData handed to clients onto live sessions. Keys are random
 * and compared in constant time; misses and hits answer alike (nothing), as Postgres does.
 */
export class CancelRouter {
  private readonly byPid = new Map<number, Entry>();

  /** Issues a fresh (pid, key) for a session; the pid's sign bit stays clear for old clients. */
  register(target: CancelTarget, keyLength = 4): { pid: number; key: Buffer } {
    for (;;) {
      const pid = randomBytes(4).readUInt32BE(0) & 0x7fffffff;
      if (pid === 0 || this.byPid.has(pid)) continue;
      const key = randomBytes(keyLength);
      this.byPid.set(pid, { key, target });
      return { pid, key };
    }
  }

  /** Whether this gateway issued the pid (a cancel for another pid may belong to a peer). */
  owns(pid: number): boolean {
    return this.byPid.has(pid);
  }

  /** A cancel relayed by a peer gateway, which passes only a hash of the key it received. */
  routeHashed(pid: number, keyHash: Buffer): boolean {
    const entry = this.byPid.get(pid);
    if (!entry) return false;
    const mine = createHash('sha256').update(entry.key).digest();
    if (keyHash.length !== mine.length || !timingSafeEqual(keyHash, mine)) return false;
    if (!entry.target.busy()) return false;
    entry.target.cancel();
    return true;
  }

  unregister(pid: number): void {
    this.byPid.delete(pid);
  }

  /** Returns true when a cancel was forwarded (for metrics only; the client is never told). */
  route(pid: number, key: Buffer): boolean {
    const entry = this.byPid.get(pid);
    const expected = entry?.key ?? DUMMY_KEY;
    const sameLength = key.length === expected.length;
    const match = timingSafeEqual(sameLength ? key : expected, expected) && sameLength && entry !== undefined;
    if (!match || !entry) return false;
    if (!entry.target.busy()) return false;
    entry.target.cancel();
    return true;
  }

  get size(): number {
    return this.byPid.size;
  }
}

const DUMMY_KEY = randomBytes(4);
