import net from 'node:net';
import tls from 'node:tls';
import { EVENTUALLY_TIMEOUT_MS } from './eventually.js';

/**
 * How long a read waits for the gateway by default: generous, because it only matters when
 * the answer never comes (the test fails then), and a loaded machine can be slow to answer.
 */
const WAIT_MS = EVENTUALLY_TIMEOUT_MS;

export interface BackendMessage {
  type: string;
  body: Buffer;
}

/** Error/notice fields by their one-letter codes. */
export function fields(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length && body[pos] !== 0) {
    const end = body.indexOf(0, pos + 1);
    out[String.fromCharCode(body[pos]!)] = body.toString('utf8', pos + 1, end);
    pos = end + 1;
  }
  return out;
}

export const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
};

export function startupPacket(params: Record<string, string>, version = 0x00030000): Buffer {
  const body = Buffer.concat([
    int32(version),
    ...Object.entries(params).map(([k, v]) => Buffer.from(`${k}\0${v}\0`)),
    Buffer.from([0]),
  ]);
  return Buffer.concat([int32(body.length + 4), body]);
}

export function message(type: string, body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return Buffer.concat([Buffer.from(type), int32(b.length + 4), b]);
}

export const SSL_REQUEST = Buffer.from('0000000804d2162f', 'hex');
export const GSSENC_REQUEST = Buffer.from('0000000804d21630', 'hex');

/**
 * A deliberately dumb client for hostile-input tests: writes exactly the bytes given and
 * records everything the gateway sends back, and whether it closed.
 */
export class RawClient {
  private buf = Buffer.alloc(0);
  private closed = false;
  private waiters: Array<() => void> = [];

  private constructor(private socket: net.Socket | tls.TLSSocket) {
    this.attach(socket);
  }

  private attach(socket: net.Socket | tls.TLSSocket): void {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Direct TLS (no SSLRequest), as PG 17's sslnegotiation=direct does. */
  static directTls(
    port: number,
    ca: string,
    alpn: string[] | null,
    extra: tls.ConnectionOptions = {},
  ): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = tls.connect(
        { port, host: '127.0.0.1', ca, servername: 'localhost', ...(alpn ? { ALPNProtocols: alpn } : {}), ...extra },
        () => resolve(new RawClient(s)),
      );
      s.once('error', reject);
    });
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  end(): void {
    this.socket.end();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get tlsSocket(): tls.TLSSocket | null {
    return this.socket instanceof tls.TLSSocket ? this.socket : null;
  }

  private async until(pred: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.closed || Date.now() > deadline) return;
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async byte(timeoutMs = WAIT_MS): Promise<string | null> {
    await this.until(() => this.buf.length >= 1, timeoutMs);
    if (this.buf.length === 0) return null;
    const b = String.fromCharCode(this.buf[0]!);
    this.buf = this.buf.subarray(1);
    return b;
  }

  /** Sends SSLRequest, expects `S`, and continues over TLS. */
  async upgrade(ca: string): Promise<void> {
    this.write(SSL_REQUEST);
    const answer = await this.byte();
    if (answer !== 'S') throw new Error(`expected S, got ${answer}`);
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({ socket: plain as net.Socket, ca, servername: 'localhost' }, () => resolve(s));
      s.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  /** The next whole message, or null if the gateway closed or went quiet first. */
  async next(timeoutMs = WAIT_MS): Promise<BackendMessage | null> {
    const complete = (): boolean => this.buf.length >= 5 && this.buf.length >= 1 + this.buf.readUInt32BE(1);
    await this.until(complete, timeoutMs);
    if (!complete()) return null;
    const len = this.buf.readUInt32BE(1);
    const msg = { type: String.fromCharCode(this.buf[0]!), body: this.buf.subarray(5, 1 + len) };
    this.buf = this.buf.subarray(1 + len);
    return msg;
  }

  /** Messages up to and including one of the given types (or until close). */
  async until_(types: string, timeoutMs = WAIT_MS): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      if (!m) return out;
      out.push(m);
      if (types.includes(m.type)) return out;
    }
  }

  /** The FATAL/ERROR the gateway sent next, as fields. */
  async error(timeoutMs = WAIT_MS): Promise<Record<string, string> | null> {
    const msgs = await this.until_('E', timeoutMs);
    const e = msgs.find((m) => m.type === 'E');
    return e ? fields(e.body) : null;
  }

  /** True when the gateway closed without sending a single byte. */
  async closedSilently(timeoutMs = WAIT_MS): Promise<boolean> {
    await this.until(() => false, timeoutMs);
    return this.closed && this.buf.length === 0;
  }

  async waitClosed(timeoutMs = WAIT_MS): Promise<boolean> {
    await this.until(() => false, timeoutMs);
    return this.closed;
  }
}
