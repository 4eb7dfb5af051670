import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { SocketMessageReader } from '../net/socket-reader.js';
import * as W from '../protocol/backend-writer.js';
import { Fe } from '../protocol/constants.js';
import { protocolViolation, type PgError } from '../protocol/errors.js';
import { FrameReader } from '../protocol/frame-reader.js';
import { authLimits } from '../protocol/limits.js';

/**
 * The client's end of one connection while it is set up: the accepted socket, the TLS
 * socket over it once encryption is on, a message reader, where the client really is (a
 * trusted balancer may say), and when each startup stage finished. Phases read and write
 * through it; the live session takes it over at the end.
 */
export class ClientLink {
  /** What the client is spoken to through: the accepted socket, or TLS over it. */
  socket: Duplex;
  tls: tls.TLSSocket | null = null;
  private messages: SocketMessageReader | null = null;
  /** The client's address and port: the socket's, or those a trusted balancer reported. */
  addr: string;
  port: number | undefined;
  /** Milliseconds since accept at which each startup stage finished. */
  readonly stages: Record<string, number> = {};
  readonly startedAt = new Date();
  private readonly t0 = performance.now();

  constructor(readonly raw: net.Socket) {
    this.socket = raw;
    this.addr = raw.remoteAddress ?? 'unknown';
    this.port = raw.remotePort;
  }

  mark(stage: string): void {
    this.stages[stage] = Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  /** Starts reading messages from the current socket, with `first` already received. */
  readFrom(socket: Duplex, first?: Buffer): void {
    const frames = new FrameReader(authLimits(), 'frontend');
    if (first) frames.push(first);
    this.messages = new SocketMessageReader(socket, frames);
  }

  /** Encryption is on: everything from here goes through the TLS socket. */
  encrypted(socket: tls.TLSSocket): void {
    socket.on('error', () => undefined);
    this.tls = socket;
    this.socket = socket;
    this.readFrom(socket);
  }

  get reader(): SocketMessageReader {
    if (!this.messages) throw new Error('no message reader yet');
    return this.messages;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Several messages in one TCP segment. */
  writeAll(messages: Buffer[]): void {
    this.socket.cork();
    for (const m of messages) this.socket.write(m);
    this.socket.uncork();
  }

  /** The body of the client's next PasswordMessage (which also carries SASL responses). */
  async passwordMessage(expected: 'password' | 'SASL'): Promise<Buffer> {
    const frame = await this.reader.message();
    if (frame.type !== Fe.Password) {
      throw protocolViolation(`expected ${expected} response, got message type ${frame.type}`);
    }
    return frame.body;
  }

  /** Stops reading for the setup phases: the bytes the client sent past them (pipelined). */
  handOver(): Buffer {
    const rest = this.messages?.release() ?? Buffer.alloc(0);
    this.messages = null;
    return rest;
  }

  get closed(): boolean {
    return this.socket.destroyed;
  }

  fatal(err: PgError): void {
    if (this.socket.destroyed) return;
    this.socket.write(
      W.errorResponse({ severity: 'FATAL', code: err.code, message: err.message, detail: err.detail, hint: err.hint }),
    );
  }

  /** Ends gracefully (what was written goes out), and makes sure within a second. */
  close(): void {
    this.socket.end();
    setTimeout(() => this.destroy(), 1_000).unref();
  }

  destroy(): void {
    this.socket.destroy();
    this.raw.destroy();
  }
}
