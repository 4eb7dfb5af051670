import { MAX_STARTUP_BODY } from './constants.js';
import { PgError, ProtocolFramingError } from './errors.js';
import type { LengthLimits } from './limits.js';
import { SqlState } from './sqlstate.js';

/** A whole message; `body` is a view into the received bytes whenever it did not span reads. */
export interface Frame {
  type: number;
  body: Buffer;
}

/**
 * Incremental, bounded reader of whole messages for the handshake phases (startup,
 * authentication, upstream connect), where each message is interpreted. The relay uses
 * FrameScanner instead, which never assembles frames it does not need.
 *
 * Lengths are read unsigned and range-checked before anything is allocated from them.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private limits: LengthLimits,
    private readonly direction: 'frontend' | 'backend',
  ) {}

  setLimits(limits: LengthLimits): void {
    this.limits = limits;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  get buffered(): number {
    return this.size;
  }

  /** Hands back every byte not yet consumed (for the relay to take over). */
  drain(): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    return all;
  }

  /** One raw byte (the server's answer to SSLRequest). */
  drainByte(): number | null {
    if (this.size < 1) return null;
    return this.take(1)[0]!;
  }

  /** The next startup-type packet body (no type byte), or null if incomplete. */
  nextStartupPacket(): Buffer | null {
    if (this.size < 4) return null;
    const len = this.peekUInt32(0);
    if (len < 8 || len - 4 > MAX_STARTUP_BODY) {
      throw new ProtocolFramingError('invalid length of startup packet');
    }
    if (this.size < len) return null;
    return this.take(len).subarray(4);
  }

  /** The next typed message, or null if incomplete. */
  next(): Frame | null {
    if (this.size < 5) return null;
    const type = this.peekByte(0);
    const limit = this.limits[type] ?? 0;
    if (limit === 0) {
      throw new PgError(SqlState.protocolViolation, `invalid ${this.direction} message type ${type}`, {
        internalReason: `unexpected message type ${type}`,
      });
    }
    const len = this.peekUInt32(1);
    if (len < 4 || len > limit) throw new ProtocolFramingError('invalid message length');
    if (this.size < len + 1) return null;
    const whole = this.take(len + 1);
    return { type, body: whole.subarray(5) };
  }

  private peekByte(offset: number): number {
    for (const chunk of this.chunks) {
      if (offset < chunk.length) return chunk[offset]!;
      offset -= chunk.length;
    }
    throw new RangeError('peek past end');
  }

  private peekUInt32(offset: number): number {
    const first = this.chunks[0]!;
    if (first.length >= offset + 4) return first.readUInt32BE(offset);
    return (
      ((this.peekByte(offset) << 24) >>> 0) +
      (this.peekByte(offset + 1) << 16) +
      (this.peekByte(offset + 2) << 8) +
      this.peekByte(offset + 3)
    );
  }

  /** Removes n bytes from the front; zero-copy when they lie in one chunk. */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    this.size -= n;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0]!;
      const want = n - filled;
      if (chunk.length <= want) {
        chunk.copy(out, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(out, filled, 0, want);
        this.chunks[0] = chunk.subarray(want);
        filled += want;
      }
    }
    return out;
  }
}
