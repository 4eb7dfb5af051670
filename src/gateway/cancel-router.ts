import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { KeyedBuckets, TokenBucket } from './rate-limit.js';

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

/** How many cancel requests are taken per second: from one client address, and relayed to peers in all. */
export interface CancelLimits {
  perAddress: number;
  relayedPerGateway: number;
}

const DEFAULT_LIMITS: CancelLimits = { perAddress: 50, relayedPerGateway: 100 };

/** What became of the cancel requests this gateway received (tests and logs; clients are never told). */
export interface CancelCounts {
  /** Matched here and forwarded to the session's upstream (or a miss on a pid issued here). */
  local: number;
  /** Published for the peers (one store round trip each). */
  relayed: number;
  /** Dropped: the key carries no tag of this cluster, so no gateway of it issued the pair. */
  notIssued: number;
  /** Dropped: over the per-address or the relay budget. */
  limited: number;
}

/**
 * Maps the synthetic BackendKeyData handed to clients onto live sessions. Keys are random
 * and compared in constant time; misses and hits answer alike (nothing), as Postgres does.
 *
 * The last bytes of each key are a tag: an HMAC of the pid and the rest of the key under a
 * secret every gateway of the cluster derives from the vault key. A cancel for a pid this
 * gateway does not hold is relayed to the peers (a store round trip) only when its tag is
 * right, so a flood of made-up cancels costs no store work at all. The key stays as hard to
 * guess as a random one for anyone without the secret (4 bytes: 2 random + 2 tag; 32
 * bytes: 24 random + 8 tag).
 */
export class CancelRouter {
  private readonly byPid = new Map<number, Entry>();
  private readonly tagSecret: Buffer;
  private bySource: KeyedBuckets;
  private relays: TokenBucket;
  readonly counts: CancelCounts = { local: 0, relayed: 0, notIssued: 0, limited: 0 };

  /**
   * tagSecret must be the same on every gateway sharing the store (gateway.ts derives it
   * from the vault key); without one, only this gateway's own keys carry a valid tag.
   */
  constructor(opts: { tagSecret?: Buffer; limits?: CancelLimits } = {}) {
    this.tagSecret = opts.tagSecret ?? randomBytes(32);
    const limits = opts.limits ?? DEFAULT_LIMITS;
    this.bySource = new KeyedBuckets({ per: limits.perAddress, periodMs: 1_000 });
    this.relays = new TokenBucket({ per: limits.relayedPerGateway, periodMs: 1_000 });
  }

  /** New budgets (SIGHUP); what was spent so far is forgotten. */
  setLimits(limits: CancelLimits): void {
    this.bySource = new KeyedBuckets({ per: limits.perAddress, periodMs: 1_000 });
    this.relays = new TokenBucket({ per: limits.relayedPerGateway, periodMs: 1_000 });
  }

  /** Issues a fresh (pid, key) for a session; the pid's sign bit stays clear for old clients. */
  register(target: CancelTarget, keyLength = 4): { pid: number; key: Buffer } {
    for (;;) {
      const pid = randomBytes(4).readUInt32BE(0) & 0x7fffffff;
      if (pid === 0 || this.byPid.has(pid)) continue;
      const tagLength = tagLengthFor(keyLength);
      const random = randomBytes(keyLength - tagLength);
      const key = Buffer.concat([random, this.tag(pid, random, tagLength)]);
      this.byPid.set(pid, { key, target });
      return { pid, key };
    }
  }

  /** Whether a gateway of this cluster could have issued (pid, key): its tag checks out. */
  issuedByCluster(pid: number, key: Buffer): boolean {
    if (key.length < 4) return false;
    const tagLength = tagLengthFor(key.length);
    const body = key.subarray(0, key.length - tagLength);
    return timingSafeEqual(this.tag(pid, body, tagLength), key.subarray(key.length - tagLength));
  }

  /** Takes one request from this address's budget (null: the address is unknown, only the relay budget applies). */
  sourceAllows(addr: string | null): boolean {
    return addr === null || this.bySource.take(addr);
  }

  /** Takes one relay (a store round trip) from the gateway's budget. */
  relayAllows(): boolean {
    return this.relays.take();
  }

  private tag(pid: number, body: Buffer, length: number): Buffer {
    const pidBytes = Buffer.alloc(4);
    pidBytes.writeUInt32BE(pid >>> 0);
    return createHmac('sha256', this.tagSecret)
      .update('pgward-cancel-tag')
      .update(pidBytes)
      .update(body)
      .digest()
      .subarray(0, length);
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

/** Bytes of a key that are its tag: 2 of a 3.0 client's 4, 8 of a 3.2 client's 32 (any other length: a quarter). */
function tagLengthFor(keyLength: number): number {
  if (keyLength === 4) return 2;
  if (keyLength === 32) return 8;
  return Math.floor(keyLength / 4);
}
