import type { Duplex } from 'node:stream';
import { parameterStatus } from '../protocol/backend-messages.js';
import { errorResponse, parameterStatus as parameterStatusMessage } from '../protocol/backend-writer.js';
import { Be, Fe, LARGE_MESSAGE_LIMIT, TxStatusByte } from '../protocol/constants.js';
import { PgError } from '../protocol/errors.js';
import { FrameScanner, Verdict } from '../protocol/frame-scanner.js';
import { backendLimits, frontendLimits, messageTooLarge } from '../protocol/limits.js';
import { SqlState } from '../protocol/sqlstate.js';
import { maskingObserver, type RelayMasker } from './masker.js';
import type { RelayObserver } from './observer.js';
import { RelayPhase, type RelayPhaseName } from './relay-phase.js';
import type { EndReason, RelayOptions, RelayStats } from './relay-types.js';
import { mayDefinePlaceholder } from './session-residue.js';
import { inTurn, StatementBlocker } from './statement-blocker.js';

export type { BoundUpstream, EndReason, RelayOptions, RelayStats } from './relay-types.js';

/** A frame rebuilt whole from its type and body (only for frames held back: rare). */
function wholeFrame(type: number, body: Buffer): Buffer {
  // A frame that came in several reads was assembled into a buffer of its own, header first:
  // held as it is (copying a 10 MB statement again cost 8 ms of the event loop).
  if (body.byteOffset === 5 && body.buffer.byteLength === body.length + 5) {
    const own = Buffer.from(body.buffer, 0, body.length + 5);
    if (own[0] === type && own.readUInt32BE(1) === body.length + 4) return own;
  }
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = type;
  frame.writeUInt32BE(body.length + 4, 1);
  body.copy(frame, 5);
  return frame;
}

/** Client frames that say which result answers what, shown to the masker as they go upstream. */
const MASKER_FRAMES = new Set<number>([Fe.Query, Fe.Bind, Fe.Describe, Fe.Execute, Fe.Close, Fe.Sync]);
const EMPTY = Buffer.alloc(0);

/** A listener as Node's streams take it (the signature depends on the event). */
type StreamListener = Parameters<Duplex['on']>[1];

/**
 * Pumps whole frames both ways. Chunks are forwarded as views of what was read, with
 * socket backpressure honoured in both directions; frame boundaries are tracked so the
 * gateway can speak (an ErrorResponse) without breaking either stream.
 */
export class Relay {
  readonly stats: RelayStats = { bytesFromClient: 0, bytesToClient: 0, messagesFromClient: 0, rowsToClient: 0 };
  private readonly phase: RelayPhase;
  /**
   * A statement or extended-protocol cycle is running upstream (from the client's message to
   * its ReadyForQuery). Orthogonal to the phase: a live or draining session is busy or not.
   */
  private inFlight = false;
  /** Transaction status from the last ReadyForQuery. */
  private txStatus: number = TxStatusByte.Idle;
  /** The FATAL sent when a draining session reaches an idle ReadyForQuery. */
  private drainMessage = '';
  private readonly upstreamListeners: Array<[string, StreamListener]> = [];
  private readonly fromClient: FrameScanner;
  private readonly fromUpstream: FrameScanner;
  /**
   * Backpressure, orthogonal to the phase: a socket whose write buffer is full holds the
   * other side's reads until it drains (in any phase that relays bytes). While binding the
   * upstream counts as blocked, which holds the client until its connection is there.
   */
  private upstreamBlocked = false;
  /** The upstream's own FATAL already told the client why it is closing. */
  private lastUpstreamType = 0;
  private clientBlocked = false;
  private readonly blocker: StatementBlocker | null;
  private readonly observer: RelayObserver | null;
  /** Data masking (null: the session has no masking rules, and rows stream untouched). */
  private readonly masker: RelayMasker | null;
  /** The masker found a result it cannot pass on: nothing more from the upstream reaches the client. */
  private maskerStopped = false;
  /** Client bytes for an upstream still being bound. */
  private pendingToUpstream: Buffer[] = [];
  /** Armed only while a client message is incomplete. */
  private stallTimer: NodeJS.Timeout | null = null;
  /** Whole client frames held back (G15), in order, while the server answers earlier ones; null when none. */
  private held: Buffer[] | null = null;
  /** The blocker's inspection (a held statement worked out elsewhere) the relay already waits for. */
  private awaited: Promise<void> | null = null;
  /** The placeholder check of the statement held for inspection, done while it waited. */
  private heldPlaceholder: { body: number; defines: boolean } | null = null;
  /** The session may have left state in the backend that a reset does not remove (session-residue.ts). */
  private residue = false;

  constructor(
    private readonly client: Duplex,
    private upstream: Duplex | null,
    private readonly opts: RelayOptions,
  ) {
    this.phase = new RelayPhase(upstream ? 'live' : 'unbound', opts.onIllegalTransition);
    const masker = opts.masker ?? null;
    this.masker = masker;
    const observer = masker ? maskingObserver(opts.observer ?? null, masker) : (opts.observer ?? null);
    this.observer = observer;
    this.blocker = observer ? new StatementBlocker() : null;
    const blocker = this.blocker;
    for (const [name, value] of opts.parameters ?? []) this.noteSetting(name, value);
    let cycleRows = 0;
    let cycleBytes = 0;
    let cycleError: string | null = null;
    let cycleMessage: string | null = null;
    // Lengths Postgres itself refuses close the connection without a word, as Postgres does;
    // over the gateway's lower limit (limits.maxMessageBytes), a FATAL says why.
    const capped = frontendLimits(opts.maxMessageBytes);
    this.fromClient = new FrameScanner(
      frontendLimits(LARGE_MESSAGE_LIMIT),
      {
        // Only statement-bearing frames are held, and only when the session is observed or
        // pooled; while statements are held back, every frame is (they wait in order).
        wantsBody: (type, length) => {
          if (length > capped[type]!) throw messageTooLarge(length, opts.maxMessageBytes);
          return this.wantsClientBody(type);
        },
        onFrame: (type, _length, body) => {
          if (this.held) {
            if (!this.phase.is('terminated', 'refusing')) this.held.push(wholeFrame(type, body!));
            return Verdict.Drop;
          }
          const verdict = this.decide(type, body);
          if (verdict !== 'hold') return verdict;
          // G15: held back until the server has answered what may change how it reads; or
          // until a text too large to parse here has been worked out (RelayObserver.prepare).
          this.held = [wholeFrame(type, body!)];
          this.client.pause();
          this.awaitInspection();
          return Verdict.Drop;
        },
        emit: (bytes) => this.toUpstream(bytes),
      },
      'frontend',
    );
    this.fromUpstream = new FrameScanner(
      // The server's rows and COPY data stream through (the gateway holds none of them whole):
      // only Postgres's own limit applies, so a row with a large value is never cut off.
      backendLimits(LARGE_MESSAGE_LIMIT),
      {
        // Nothing server-side is held (one write per read keeps the relay at Node's pace),
        // except an ErrorResponse while a blocked statement's error is on its way.
        // ReadyForQuery is always looked at in place (it carries the transaction status), and
        // so is ParameterStatus (rare): what the server reports is recorded on the connection.
        wantsBody: (type) =>
          type === Be.ReadyForQuery ||
          type === Be.ParameterStatus ||
          (observer !== null && type === Be.ErrorResponse) ||
          (masker !== null && masker.wantsBody(type)),
        onFrame: (type, length, body) => {
          this.lastUpstreamType = type;
          if (type === Be.ReadyForQuery && body) {
            this.txStatus = body[0] ?? TxStatusByte.Idle;
            // Draining: the client has this answer first, then the FATAL.
            if (this.phase.is('draining') && this.txStatus === TxStatusByte.Idle) {
              const message = this.drainMessage;
              queueMicrotask(() => this.kill('shutdown', message));
            }
          }
          if (type === Be.ParameterStatus && body) {
            const setting = parameterStatus(body);
            if (setting) {
              opts.onParameterStatus?.(setting.name, setting.value);
              // G15: the inspector must read the next statements as the server will.
              if (blocker) this.noteSetting(setting.name, setting.value);
            }
          }
          // Masking first: what it replaces is what the client gets and the cycle counts.
          let replaced: Buffer | null = null;
          if (masker) {
            const m = masker.serverFrame(type, body);
            if (m === 'end') {
              this.maskerStopped = true;
              queueMicrotask(() =>
                this.kill(
                  'detector',
                  'terminating connection: a result of this masked session cannot be masked (binary COPY)',
                  SqlState.insufficientPrivilege,
                ),
              );
              return Verdict.Drop;
            }
            replaced = m;
          }
          if (observer) {
            cycleBytes += length + 1;
            if (type === Be.DataRow) cycleRows++;
            else if (type === Be.ReadyForQuery) {
              blocker?.onReady();
              observer.ready({
                rows: cycleRows,
                bytes: cycleBytes,
                error: cycleError,
                errorMessage: cycleMessage,
                status: String.fromCharCode(body?.[0] ?? TxStatusByte.Idle),
                masked: masker?.cycleDone() ?? null,
              });
              cycleRows = 0;
              cycleBytes = 0;
              cycleError = null;
              cycleMessage = null;
            } else if (type === Be.ErrorResponse && body && blocker) {
              const { ours, code, message } = blocker.onUpstreamError(body);
              if (cycleError === null) cycleMessage = message;
              cycleError ??= code;
              if (ours) return ours;
            }
          }
          if (type === Be.DataRow) this.stats.rowsToClient++;
          else if (type === Be.ReadyForQuery) this.inFlight = false;
          return replaced ?? Verdict.Forward;
        },
        emit: (bytes) => {
          if (this.maskerStopped) return;
          if (!this.client.write(bytes)) this.clientBlocked = true;
        },
      },
      'backend',
    );
  }

  /** Whether a client frame is looked at whole (limits.maxMessageBytes bounds what that holds). */
  private wantsClientBody(type: number): boolean {
    const { opts, observer } = this;
    return (
      this.held !== null ||
      this.phase.is('terminated', 'refusing') ||
      (opts.keepUpstream === true &&
        (type === Fe.Terminate || (!this.residue && (type === Fe.Query || type === Fe.Parse)))) ||
      (observer !== null && (type === Fe.Query || type === Fe.Parse || type === Fe.Bind || type === Fe.FunctionCall)) ||
      // Masking reads which result answers what: Describe, Execute and Close are small.
      (this.masker !== null && (type === Fe.Describe || type === Fe.Execute || type === Fe.Close))
    );
  }

  /** What happens to one whole client frame: forwarded, dropped, replaced, or held back. */
  private decide(type: number, body: Buffer | null): Verdict | Buffer | 'hold' {
    const { opts, observer, blocker } = this;
    if (this.phase.is('terminated', 'refusing')) return Verdict.Drop;
    let step: Buffer | 'end' | null = null;
    if (
      observer &&
      blocker &&
      body &&
      (type === Fe.Query || type === Fe.Parse || type === Fe.Bind || type === Fe.FunctionCall)
    ) {
      const s = blocker.onClientFrame(type, body, observer);
      // Held: nothing about it is counted or shown yet; it is decided again when released.
      if (s === 'hold') return 'hold';
      step = s;
    }
    this.stats.messagesFromClient++;
    if (opts.keepUpstream && !this.residue) {
      // A function called by OID may be set_config.
      if (
        type === Fe.FunctionCall ||
        (body && (type === Fe.Query || type === Fe.Parse) && this.definesPlaceholder(body))
      )
        this.residue = true;
    }
    if (type === Fe.Terminate) {
      this.phase.to('terminated');
      // A pooled connection outlives the client: its Terminate stops here.
      if (opts.keepUpstream) return Verdict.Drop;
    } else this.inFlight = true;
    if (observer && type === Fe.Sync) {
      blocker?.onSync();
      observer.sync();
    }
    if (step === 'end') {
      // The observer ends the session; nothing more from this client goes upstream.
      this.phase.to('refusing');
      return Verdict.Drop;
    }
    if (this.masker && MASKER_FRAMES.has(type)) this.masker.clientFrame(type, body ?? EMPTY);
    return step ?? Verdict.Forward;
  }

  private toUpstream(bytes: Buffer): void {
    if (this.upstream === null) {
      // Views of the client's chunks: Node never reuses a chunk it has handed over.
      this.pendingToUpstream.push(bytes);
      this.bind();
    } else if (!this.upstream.write(bytes)) this.upstreamBlocked = true;
  }

  /**
   * The server has answered every cycle that could change how text is read: the held
   * frames are decided in order with what it reported, until one must wait again.
   */
  private releaseHeld(): void {
    const queue = this.held ?? [];
    this.held = null;
    for (let i = 0; i < queue.length; i++) {
      if (this.phase.is('ended')) return;
      const frame = queue[i]!;
      const verdict = this.decide(frame[0]!, frame.subarray(5));
      if (verdict === 'hold') {
        this.held = queue.slice(i);
        this.awaitInspection();
        return;
      }
      if (verdict !== Verdict.Drop) this.toUpstream(verdict === Verdict.Forward ? frame : verdict);
    }
    if (this.afterClientFrames()) return;
    if (!this.upstreamBlocked && !this.phase.is('binding')) this.client.resume();
  }

  /**
   * A statement is held while its text is worked out off the event loop: once that settles
   * it is decided again, with what was held after it (whatever the server has answered).
   */
  private awaitInspection(): void {
    const inspection = this.blocker?.inspection;
    if (!inspection || inspection === this.awaited) return;
    this.awaited = inspection;
    void inspection.then(() => {
      if (this.held && !this.phase.is('ended')) this.releaseHeld();
    });
    // Meanwhile, in a turn of its own, the pool's placeholder check of the held text (3-15 ms
    // for 10 MB), so passing it on later costs the event loop that much less at once.
    const frame = this.held?.[0];
    if (frame && this.opts.keepUpstream && !this.residue && (frame[0] === Fe.Query || frame[0] === Fe.Parse))
      inTurn(() => {
        if (this.held?.[0] === frame)
          this.heldPlaceholder = { body: frame.length - 5, defines: mayDefinePlaceholder(frame.subarray(5)) };
      });
  }

  /** Whether a statement may define a placeholder setting (session-residue.ts); answered ahead for a held text. */
  private definesPlaceholder(body: Buffer): boolean {
    const ahead = this.heldPlaceholder;
    this.heldPlaceholder = null;
    return ahead && ahead.body === body.length ? ahead.defines : mayDefinePlaceholder(body);
  }

  /** After client frames were passed on: a Terminate ends the session (true). */
  private afterClientFrames(): boolean {
    if (!this.phase.is('terminated')) return false;
    if (!this.opts.keepUpstream) this.upstream?.end();
    this.finish('client-terminate');
    return true;
  }

  /**
   * Ends the session as soon as it is between transactions: now if it is idle, else after
   * the ReadyForQuery that closes its running statement or transaction.
   */
  endWhenIdle(message: string): void {
    // Refusing or terminated: the session is ending already.
    if (!this.phase.is('unbound', 'binding', 'live', 'draining')) return;
    if (!this.inFlight && this.txStatus === TxStatusByte.Idle) return this.kill('shutdown', message);
    this.drainMessage = message;
    if (!this.phase.is('draining')) this.phase.to('draining');
  }

  /** The session's phase (for the gateway's view of it, and tests). */
  get phaseName(): RelayPhaseName {
    return this.phase.name;
  }

  /** True while a statement runs upstream: only then may a cancel be forwarded. */
  get busy(): boolean {
    return this.inFlight;
  }

  start(): void {
    const { client } = this;
    client.on('data', (chunk: Buffer) => this.onClientData(chunk));
    client.on('drain', () => {
      this.clientBlocked = false;
      this.upstream?.resume();
    });
    const closedReason = (): EndReason => (this.phase.is('terminated') ? 'client-terminate' : 'client-closed');
    client.on('end', () => this.finish(closedReason()));
    client.on('close', () => this.finish(closedReason()));
    client.on('error', () => this.finish('client-closed'));
    if (this.upstream) this.attachUpstream(this.upstream);
    if (this.opts.clientLeftover?.length) this.onClientData(this.opts.clientLeftover);
    if (this.upstream && this.opts.upstreamLeftover?.length) this.onUpstreamData(this.opts.upstreamLeftover);
    if (!this.phase.is('binding')) client.resume();
    this.upstream?.resume();
  }

  /** Whether an upstream connection serves this session yet. */
  get bound(): boolean {
    return this.upstream !== null;
  }

  private attachUpstream(upstream: Duplex): void {
    const onUp = (event: string, fn: StreamListener): void => {
      upstream.on(event, fn);
      this.upstreamListeners.push([event, fn]);
    };
    onUp('data', (chunk: Buffer) => this.onUpstreamData(chunk));
    onUp('drain', () => {
      this.upstreamBlocked = false;
      if (!this.held) this.client.resume();
    });
    onUp('end', () => this.finish('upstream-closed'));
    onUp('close', () => this.finish('upstream-closed'));
    onUp('error', () => this.finish('upstream-closed'));
  }

  /** The client spoke first: get an upstream, tell the client what differs, send what waited. */
  private bind(): void {
    // Only the first message binds; later ones (and those of an ending session) just wait.
    if (!this.phase.is('unbound') || !this.opts.bindUpstream) return;
    this.phase.to('binding');
    this.upstreamBlocked = true;
    this.client.pause();
    this.opts.bindUpstream().then(
      (up) => {
        // The client left while it was being bound: nobody can vouch for its state now.
        if (this.phase.is('ended')) return void up.socket.destroy();
        // A drain asked meanwhile stays in force (it ends the session at its first idle answer).
        if (this.phase.is('binding')) this.phase.to('live');
        this.upstream = up.socket;
        this.attachUpstream(up.socket);
        const told = new Map(this.opts.parameters ?? []);
        for (const [name, value] of up.parameters) {
          if (told.get(name) === value) continue;
          this.client.write(parameterStatusMessage(name, value));
          this.noteSetting(name, value);
        }
        let ok = true;
        for (const bytes of this.pendingToUpstream) ok = up.socket.write(bytes);
        this.pendingToUpstream = [];
        this.upstreamBlocked = !ok;
        this.opts.onBound?.();
        if (up.leftover.length) this.onUpstreamData(up.leftover);
        up.socket.resume();
        if (!this.upstreamBlocked && !this.held && !this.phase.is('ended')) this.client.resume();
      },
      (err: unknown) => {
        this.pendingToUpstream = [];
        // The client left while it waited: there is nobody to tell.
        if (this.phase.is('ended')) return;
        const e =
          err instanceof PgError
            ? err
            : new PgError(SqlState.connectionFailure, 'pgward could not connect to the server');
        this.kill('upstream-unavailable', e.message, e.code);
      },
    );
  }

  private noteSetting(name: string, value: string): void {
    if (name === 'client_encoding') this.blocker?.text.setEncoding(value);
    this.observer?.setting?.(name, value);
  }

  /** Ends the session from the gateway's side with a FATAL the client can read. */
  kill(reason: EndReason, message: string, code: string = SqlState.adminShutdown): void {
    this.sendFatal(new PgError(code, message));
    this.finish(reason, message);
  }

  /** When the client last sent anything (for idle timeouts). */
  lastClientData = Date.now();

  private onClientData(chunk: Buffer): void {
    if (this.phase.is('ended')) return;
    this.lastClientData = Date.now();
    this.stats.bytesFromClient += chunk.length;
    try {
      this.fromClient.scan(chunk);
    } catch (err) {
      this.violation('client', err);
      return;
    }
    if (this.afterClientFrames()) return;
    if (this.upstreamBlocked || this.held) this.client.pause();
    else if (!this.fromClient.atBoundary && this.opts.messageStallMs !== undefined)
      this.watchStall(this.opts.messageStallMs);
  }

  /**
   * A message that was begun and then left unfinished holds the upstream in the middle of
   * reading it; a client that goes quiet there is cut off. Only the client's silence counts:
   * while the relay itself holds the client back (upstream backpressure), nothing is armed.
   */
  private watchStall(ms: number): void {
    if (this.stallTimer) return;
    const check = (): void => {
      this.stallTimer = null;
      if (this.phase.is('ended') || this.fromClient.atBoundary || this.upstreamBlocked || this.held) return;
      const quiet = Date.now() - this.lastClientData;
      if (quiet >= ms) {
        this.kill(
          'client-protocol-violation',
          'terminating connection: incomplete message from client',
          SqlState.protocolViolation,
        );
        return;
      }
      this.stallTimer = setTimeout(check, ms - quiet);
    };
    this.stallTimer = setTimeout(check, ms);
  }

  private onUpstreamData(chunk: Buffer): void {
    if (this.phase.is('ended')) return;
    this.stats.bytesToClient += chunk.length;
    // A masked read is passed on in pieces (rewritten rows between views of the chunk): one write for all of them.
    const cork = this.masker !== null;
    if (cork) this.client.cork();
    try {
      this.fromUpstream.scan(chunk);
    } catch (err) {
      if (cork) this.client.uncork();
      this.violation('upstream', err);
      return;
    }
    if (cork) this.client.uncork();
    if (this.clientBlocked) this.upstream?.pause();
    if (this.held && this.blocker?.canRelease() && !this.blocker.inspection) this.releaseHeld();
  }

  private violation(side: 'client' | 'upstream', err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    if (side === 'client' && err instanceof PgError) this.sendFatal(err);
    // The scanner only fails at a frame header, so the client's stream is between frames:
    // it can be told, whatever the upstream sent.
    else if (side === 'upstream')
      this.sendFatal(new PgError(SqlState.connectionFailure, 'upstream server sent an invalid message'));
    this.finish(side === 'client' ? 'client-protocol-violation' : 'upstream-protocol-violation', message);
  }

  /** Only between frames of the server stream, or the client would misread it. */
  private sendFatal(err: PgError): void {
    if (!this.fromUpstream.atBoundary || this.client.destroyed) return;
    this.client.write(
      errorResponse({ severity: 'FATAL', code: err.code, message: err.message, detail: err.detail, hint: err.hint }),
    );
  }

  private finish(reason: EndReason, detail?: string): void {
    if (this.phase.is('ended')) return;
    this.phase.to('ended');
    if (this.stallTimer) clearTimeout(this.stallTimer);
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
    const upstream = this.upstream;
    const reusable =
      upstream !== null &&
      this.opts.keepUpstream === true &&
      !this.residue &&
      (reason === 'client-terminate' || reason === 'client-closed') &&
      !this.inFlight &&
      this.txStatus === TxStatusByte.Idle &&
      this.fromUpstream.atBoundary &&
      !upstream.destroyed;
    if (reusable) {
      for (const [event, fn] of this.upstreamListeners) upstream.off(event, fn);
      upstream.pause();
    } else upstream?.end();
    // Give the closing writes a moment, then make sure nothing lingers half-open.
    setTimeout(() => {
      this.client.destroy();
      if (!reusable) upstream?.destroy();
    }, 1_000).unref();
    this.opts.onEnd(reason, detail, reusable);
  }
}
