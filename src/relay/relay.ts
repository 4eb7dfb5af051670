import type { Duplex } from 'node:stream';
import { errorResponse } from '../protocol/backend-writer.js';
import { Be, Fe } from '../protocol/constants.js';
import { PgError, ProtocolFramingError } from '../protocol/errors.js';
import { FrameScanner, Verdict } from '../protocol/frame-scanner.js';
import { backendLimits, frontendLimits } from '../protocol/limits.js';
import { SqlState } from '../protocol/sqlstate.js';
import { StatementBlocker, type StatementCheck } from './statement-blocker.js';

export type EndReason =
  | 'client-terminate'
  | 'client-closed'
  | 'upstream-closed'
  | 'client-protocol-violation'
  | 'upstream-protocol-violation'
  | 'killed'
  | 'token-expired'
  | 'token-revoked'
  | 'max-duration'
  | 'idle-timeout'
  | 'shutdown';

export interface RelayStats {
  bytesFromClient: number;
  bytesToClient: number;
  messagesFromClient: number;
  rowsToClient: number;
}

export interface RelayOptions {
  maxMessageBytes: number;
  /** Bytes each side sent before the relay took over (e.g. pipelined after startup). */
  clientLeftover?: Buffer;
  upstreamLeftover?: Buffer;
  /** Checks each Query and Parse; a verdict blocks the statement with that error. */
  inspect?: StatementCheck | undefined;
  onBlock?: ((reason: string, sql: string) => void) | undefined;
  onEnd(reason: EndReason, detail?: string): void;
}

/**
 * Pumps whole frames both ways. Chunks are forwarded as views of what was read, with
 * socket backpressure honoured in both directions; frame boundaries are tracked so the
 * gateway can speak (an ErrorResponse) without breaking either stream.
 */
export class Relay {
  readonly stats: RelayStats = { bytesFromClient: 0, bytesToClient: 0, messagesFromClient: 0, rowsToClient: 0 };
  private inFlight = false;
  private ended = false;
  private terminated = false;
  private readonly fromClient: FrameScanner;
  private readonly fromUpstream: FrameScanner;
  private upstreamBlocked = false;
  /** The upstream's own FATAL already told the client why it is closing. */
  private lastUpstreamType = 0;
  private clientBlocked = false;
  private readonly blocker: StatementBlocker | null;

  constructor(
    private readonly client: Duplex,
    private readonly upstream: Duplex,
    private readonly opts: RelayOptions,
  ) {
    this.blocker = opts.inspect ? new StatementBlocker(opts.inspect, opts.onBlock) : null;
    const blocker = this.blocker;
    this.fromClient = new FrameScanner(
      frontendLimits(opts.maxMessageBytes),
      {
        // Only Query and Parse are held, and only when something inspects statements.
        wantsBody: (type) => this.terminated || (blocker !== null && (type === Fe.Query || type === Fe.Parse)),
        onFrame: (type, _length, body) => {
          if (this.terminated) return Verdict.Drop;
          this.stats.messagesFromClient++;
          if (type === Fe.Terminate) this.terminated = true;
          else this.inFlight = true;
          if (blocker && body) {
            const replacement = blocker.onClientStatement(type, body);
            if (replacement) {
              if (!this.upstream.write(replacement)) this.upstreamBlocked = true;
              return Verdict.Drop;
            }
          }
          return Verdict.Forward;
        },
        emit: (bytes) => {
          if (!this.upstream.write(bytes)) this.upstreamBlocked = true;
        },
      },
      'frontend',
    );
    this.fromUpstream = new FrameScanner(
      backendLimits(opts.maxMessageBytes),
      {
        // Nothing server-side is held (one write per read keeps the relay at Node's pace),
        // except an ErrorResponse while a blocked statement's error is on its way.
        wantsBody: (type) => blocker !== null && blocker.pending && type === Be.ErrorResponse,
        onFrame: (type, _length, body) => {
          this.lastUpstreamType = type;
          if (body && blocker) {
            const ours = blocker.onUpstreamError(body);
            if (ours) {
              if (!this.client.write(ours)) this.clientBlocked = true;
              return Verdict.Drop;
            }
          }
          if (type === Be.DataRow) this.stats.rowsToClient++;
          else if (type === Be.ReadyForQuery) this.inFlight = false;
          return Verdict.Forward;
        },
        emit: (bytes) => {
          if (!this.client.write(bytes)) this.clientBlocked = true;
        },
      },
      'backend',
    );
  }

  /** True while a statement runs upstream: only then may a cancel be forwarded. */
  get busy(): boolean {
    return this.inFlight;
  }

  start(): void {
    const { client, upstream } = this;
    client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    upstream.on('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    upstream.on('drain', () => {
      this.upstreamBlocked = false;
      client.resume();
    });
    client.on('drain', () => {
      this.clientBlocked = false;
      upstream.resume();
    });
    client.on('end', () => this.finish(this.terminated ? 'client-terminate' : 'client-closed'));
    client.on('close', () => this.finish(this.terminated ? 'client-terminate' : 'client-closed'));
    client.on('error', () => this.finish('client-closed'));
    upstream.on('end', () => this.finish('upstream-closed'));
    upstream.on('close', () => this.finish('upstream-closed'));
    upstream.on('error', () => this.finish('upstream-closed'));
    if (this.opts.clientLeftover?.length) this.onClientData(this.opts.clientLeftover);
    if (this.opts.upstreamLeftover?.length) this.onUpstreamData(this.opts.upstreamLeftover);
    client.resume();
    upstream.resume();
  }

  /** Ends the session from the gateway's side with a FATAL the client can read. */
  kill(reason: EndReason, message: string, code: string = SqlState.adminShutdown): void {
    this.sendFatal(new PgError(code, message));
    this.finish(reason, message);
  }

  /** When the client last sent anything (for idle timeouts). */
  lastClientData = Date.now();

  private onClientData(chunk: Buffer): void {
    if (this.ended) return;
    this.lastClientData = Date.now();
    this.stats.bytesFromClient += chunk.length;
    try {
      this.fromClient.scan(chunk);
    } catch (err) {
      this.violation('client', err);
      return;
    }
    if (this.terminated) {
      this.upstream.end();
      this.finish('client-terminate');
      return;
    }
    if (this.upstreamBlocked) this.client.pause();
  }

  private onUpstreamData(chunk: Buffer): void {
    if (this.ended) return;
    this.stats.bytesToClient += chunk.length;
    try {
      this.fromUpstream.scan(chunk);
    } catch (err) {
      this.violation('upstream', err);
      return;
    }
    if (this.clientBlocked) this.upstream.pause();
  }

  private violation(side: 'client' | 'upstream', err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (side === 'client' && err instanceof PgError) this.sendFatal(err);
    else if (side === 'upstream' && !(err instanceof ProtocolFramingError)) {
      this.sendFatal(new PgError(SqlState.connectionFailure, 'upstream server sent an invalid message'));
    }
    this.finish(side === 'client' ? 'client-protocol-violation' : 'upstream-protocol-violation', message);
  }

  /** Only between frames of the server stream, or the client would misread it. */
  private sendFatal(err: PgError): void {
    if (!this.fromUpstream.atBoundary || this.client.destroyed) return;
    this.client.write(errorResponse({ severity: 'FATAL', code: err.code, message: err.message, detail: err.detail, hint: err.hint }));
  }

  private finish(reason: EndReason, detail?: string): void {
    if (this.ended) return;
    this.ended = true;
    const explained = this.lastUpstreamType === Be.ErrorResponse;
    if (reason === 'upstream-closed' && !explained && this.fromUpstream.atBoundary && !this.client.destroyed) {
      this.client.write(
        errorResponse({
          severity: 'FATAL',
          code: SqlState.adminShutdown,
          message: 'terminating connection because the upstream server closed it',
        }),
      );
    }
    this.client.end();
    this.upstream.end();
    // Give the closing writes a moment, then make sure nothing lingers half-open.
    setTimeout(() => {
      this.client.destroy();
      this.upstream.destroy();
    }, 1_000).unref();
    this.opts.onEnd(reason, detail);
  }
}
