import { Duplex } from 'node:stream';
import type net from 'node:net';

/**
 * A socket with bytes already read from it put back in front. Node has no peek, so a
 * direct-TLS ClientHello that was read to recognise it is replayed through this to the
 * TLS layer (which takes over a plain net.Socket's handle and would otherwise lose it).
 */
export class PrefixedStream extends Duplex {
  constructor(
    private readonly socket: net.Socket,
    prefix: Buffer,
  ) {
    super();
    this.push(prefix);
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.socket.write(chunk, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.socket.end(done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.socket.destroy();
    done(err);
  }
}
