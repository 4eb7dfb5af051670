import { EventEmitter } from 'node:events';
import net from 'node:net';
import { Duplex } from 'node:stream';

/**
 * A socket stand-in for relay tests: records what is written, lets the test play the other
 * side by emitting 'data', 'end' and 'close' itself.
 */
export class FakeSocket extends EventEmitter {
  written: Buffer[] = [];
  destroyed = false;
  paused = false;
  ended = false;
  write(b: Buffer): boolean {
    this.written.push(Buffer.from(b));
    return true;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    this.destroyed = true;
  }
  get bytes(): Buffer {
    return Buffer.concat(this.written);
  }
  get asDuplex(): Duplex {
    return this as unknown as Duplex;
  }
}

/**
 * Two real TCP sockets connected to each other over the loopback: `server` is what the
 * gateway's code gets (a net.Socket, as from a listener), `client` is the test's end.
 */
export async function socketPair(): Promise<{ server: net.Socket; client: net.Socket; close(): void }> {
  const listener = net.createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const server = await accepted;
  listener.close();
  // Tests end sockets abruptly on purpose; errors are the test's to observe, not to crash on.
  client.on('error', () => undefined);
  server.on('error', () => undefined);
  return {
    server,
    client,
    close: () => {
      client.destroy();
      server.destroy();
    },
  };
}

/** Reads from a socket until `enough` says the bytes so far suffice (or the socket ends). */
export function readUntil(socket: Duplex, enough: (bytes: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve) => {
    let bytes = Buffer.alloc(0);
    const done = (): void => {
      socket.off('data', onData);
      socket.off('close', done);
      socket.off('end', done);
      resolve(bytes);
    };
    const onData = (chunk: Buffer): void => {
      bytes = Buffer.concat([bytes, chunk]);
      if (enough(bytes)) done();
    };
    socket.on('data', onData);
    socket.on('close', done);
    socket.on('end', done);
  });
}

/** A protocol message: type byte, length, body. */
export const msg = (type: string, body: Buffer | string = ''): Buffer => {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const out = Buffer.alloc(5 + b.length);
  out.write(type, 0, 'latin1');
  out.writeUInt32BE(4 + b.length, 1);
  b.copy(out, 5);
  return out;
};

/** Types of the (typed) messages in a byte stream, e.g. "CZ". */
export const types = (b: Buffer): string => {
  let out = '';
  for (let at = 0; at + 5 <= b.length; at += 1 + b.readUInt32BE(at + 1)) out += String.fromCharCode(b[at]!);
  return out;
};

/** Messages arriving on a socket (the test's end of a pair), awaited one at a time. */
export class MessageQueue {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  closed = false;

  constructor(socket: Duplex) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      this.wake?.();
    });
    const onClose = (): void => {
      this.closed = true;
      this.wake?.();
    };
    socket.on('close', onClose);
    socket.on('end', onClose);
  }

  /** One raw byte (the answer to an SSLRequest), or null if the socket closed first. */
  async byte(): Promise<number | null> {
    while (this.buf.length < 1) {
      if (this.closed) return null;
      await new Promise<void>((r) => (this.wake = r));
    }
    const b = this.buf[0]!;
    this.buf = this.buf.subarray(1);
    return b;
  }

  /** The next typed message, or null if the socket closed first. */
  async next(): Promise<{ type: string; body: Buffer } | null> {
    for (;;) {
      if (this.buf.length >= 5) {
        const len = this.buf.readUInt32BE(1);
        if (this.buf.length >= 1 + len) {
          const type = String.fromCharCode(this.buf[0]!);
          const body = this.buf.subarray(5, 1 + len);
          this.buf = this.buf.subarray(1 + len);
          return { type, body };
        }
      }
      if (this.closed) return null;
      await new Promise<void>((r) => (this.wake = r));
    }
  }

  /** Messages until (and including) one of `type`. */
  async until(type: string): Promise<Array<{ type: string; body: Buffer }>> {
    const out: Array<{ type: string; body: Buffer }> = [];
    for (;;) {
      const m = await this.next();
      if (!m) return out;
      out.push(m);
      if (m.type === type) return out;
    }
  }
}

/** The fields of an ErrorResponse or NoticeResponse body, by field letter. */
export function errorFields(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < body.length && body[at] !== 0) {
    const code = String.fromCharCode(body[at]!);
    const end = body.indexOf(0, at + 1);
    out[code] = body.toString('utf8', at + 1, end);
    at = end + 1;
  }
  return out;
}
