import type { Duplex } from 'node:stream';
import type { Frame, FrameReader } from '../protocol/frame-reader.js';

/** The peer went away (or the socket failed) before a whole message arrived. */
export class PeerClosedError extends Error {
  constructor(
    readonly partial: boolean,
    cause?: Error,
  ) {
    super(partial ? 'connection closed in the middle of a message' : 'connection closed', { cause });
    this.name = 'PeerClosedError';
  }
}

/**
 * Awaitable messages from a socket during the handshake phases. Bytes are never read
 * ahead of need in a way that loses them: `release()` hands back whatever is buffered.
 */
export class SocketMessageReader {
  private waiter: (() => boolean) | null = null;
  private failure: PeerClosedError | null = null;
  private readonly onData = (chunk: Buffer): void => {
    this.reader.push(chunk);
    this.wake();
  };
  private readonly onEnd = (): void => this.fail(null);
  private readonly onError = (err: Error): void => this.fail(err);

  constructor(
    private readonly socket: Duplex,
    readonly reader: FrameReader,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
    socket.resume();
  }

  startupPacket(): Promise<Buffer> {
    return this.wait(() => this.reader.nextStartupPacket());
  }

  message(): Promise<Frame> {
    return this.wait(() => this.reader.next());
  }

  /** Exactly one byte (the answer to an SSLRequest). */
  byte(): Promise<number> {
    return this.wait(() => (this.reader.buffered >= 1 ? this.reader.drainByte() : null));
  }

  get buffered(): number {
    return this.reader.buffered;
  }

  /** Stops reading and returns the bytes received but not consumed. */
  release(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket.pause();
    return this.reader.drain();
  }

  private wait<T>(attempt: () => T | null): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const tryNow = (): boolean => {
        try {
          const value = attempt();
          if (value !== null) {
            resolve(value);
            return true;
          }
          if (this.failure) {
            reject(this.failure);
            return true;
          }
          return false;
        } catch (err) {
          reject(err);
          return true;
        }
      };
      if (!tryNow()) this.waiter = tryNow;
    });
  }

  private wake(): void {
    const waiter = this.waiter;
    if (waiter && waiter()) this.waiter = null;
  }

  private fail(err: Error | null): void {
    if (!this.failure) this.failure = new PeerClosedError(this.reader.buffered > 0, err ?? undefined);
    this.wake();
  }
}
