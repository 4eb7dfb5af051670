import { PgError, ProtocolFramingError } from './errors.js';
import type { LengthLimits } from './limits.js';
import { SqlState } from './sqlstate.js';

/** What the relay decides about one frame. */
export const enum Verdict {
  Forward = 0,
  Drop = 1,
}

export interface ScanHooks {
  /**
   * Called at every frame header. Return true to see the whole body in `onFrame` before
   * the frame is forwarded (the frame is then held until complete); false to stream it.
   */
  wantsBody(type: number, length: number): boolean;
  /**
   * Called once per frame; `body` is null unless wantsBody returned true. A Buffer answer
   * replaces the frame with those bytes (only for frames whose body was asked for).
   */
  onFrame(type: number, length: number, body: Buffer | null): Verdict | Buffer;
  /** Bytes to pass on, in order. Views into the received chunks: never copied unless a held frame spanned reads. */
  emit(bytes: Buffer): void;
}

const enum State {
  Header,
  Streaming,
  Holding,
}

/**
 * Finds frame boundaries in a byte stream without assembling frames: the relay's
 * zero-copy path. Runs of frames that pass are emitted as one view of the chunk they
 * arrived in; only frames a hook wants to inspect are gathered whole.
 */
export class FrameScanner {
  private state = State.Header;
  private header = Buffer.alloc(5);
  private headerFill = 0;
  private type = 0;
  private length = 0;
  /** Body bytes still to pass through (Streaming) or collect (Holding). */
  private remaining = 0;
  private held: Buffer[] = [];
  private heldSize = 0;

  constructor(
    private limits: LengthLimits,
    private readonly hooks: ScanHooks,
    private readonly direction: 'frontend' | 'backend',
  ) {}

  setLimits(limits: LengthLimits): void {
    this.limits = limits;
  }

  /** True between frames: nothing partial is pending. */
  get atBoundary(): boolean {
    return this.state === State.Header && this.headerFill === 0;
  }

  scan(chunk: Buffer): void {
    let pos = 0;
    let runStart = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.state === State.Header) {
        // Where this frame starts in `chunk`; -1 when its header began in an earlier read.
        let frameStart: number;
        if (this.headerFill === 0 && end - pos >= 5) {
          frameStart = pos;
          this.type = chunk[pos]!;
          this.length = chunk.readUInt32BE(pos + 1);
          pos += 5;
        } else {
          const partialStart = pos;
          const startedHere = this.headerFill === 0;
          const n = Math.min(5 - this.headerFill, end - pos);
          chunk.copy(this.header, this.headerFill, pos, pos + n);
          this.headerFill += n;
          pos += n;
          if (this.headerFill < 5) {
            // Hold the partial header back: whether it may go out depends on the frame.
            const upTo = startedHere ? partialStart : runStart;
            if (upTo > runStart) this.hooks.emit(chunk.subarray(runStart, upTo));
            return;
          }
          this.headerFill = 0;
          this.type = this.header[0]!;
          this.length = this.header.readUInt32BE(1);
          frameStart = -1;
          runStart = pos;
        }
        this.checkHeader();
        this.remaining = this.length - 4;
        if (this.hooks.wantsBody(this.type, this.length)) {
          if (frameStart >= 0 && this.remaining <= end - pos) {
            // Whole frame in this read: look at it in place; a forwarded frame stays part
            // of the run, so inspection costs no extra write.
            const frameEnd = pos + this.remaining;
            const verdict = this.hooks.onFrame(this.type, this.length, chunk.subarray(pos, frameEnd));
            if (verdict !== Verdict.Forward) {
              if (frameStart > runStart) this.hooks.emit(chunk.subarray(runStart, frameStart));
              if (verdict !== Verdict.Drop) this.hooks.emit(verdict);
              runStart = frameEnd;
            }
            pos = frameEnd;
            continue;
          }
          if (frameStart > runStart) this.hooks.emit(chunk.subarray(runStart, frameStart));
          this.held = [];
          this.heldSize = 0;
          if (frameStart < 0) {
            this.held.push(Buffer.from(this.header));
            this.heldSize = 5;
            frameStart = pos;
          }
          if (this.remaining <= end - pos) {
            pos += this.remaining;
            this.finishHeld(chunk, frameStart, pos);
            runStart = pos;
          } else {
            this.held.push(chunk.subarray(frameStart, end));
            this.heldSize += end - frameStart;
            this.remaining -= end - pos;
            this.state = State.Holding;
            return;
          }
        } else {
          if (this.hooks.onFrame(this.type, this.length, null) === Verdict.Drop) {
            throw new Error('a streamed frame cannot be dropped; ask for its body first');
          }
          if (frameStart < 0) this.hooks.emit(Buffer.from(this.header));
          const n = Math.min(this.remaining, end - pos);
          pos += n;
          this.remaining -= n;
          if (this.remaining > 0) this.state = State.Streaming;
        }
      } else if (this.state === State.Streaming) {
        const n = Math.min(this.remaining, end - pos);
        pos += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = State.Header;
      } else {
        const n = Math.min(this.remaining, end - pos);
        this.remaining -= n;
        if (this.remaining > 0) {
          this.held.push(chunk.subarray(pos, pos + n));
          this.heldSize += n;
          return;
        }
        pos += n;
        this.finishHeld(chunk, 0, pos);
        runStart = pos;
      }
    }
    if (pos > runStart) this.hooks.emit(chunk.subarray(runStart, pos));
  }

  /** The held frame is complete: its last piece is chunk[from, to). */
  private finishHeld(chunk: Buffer, from: number, to: number): void {
    let frame: Buffer;
    if (this.held.length === 0) {
      frame = chunk.subarray(from, to);
    } else {
      this.held.push(chunk.subarray(from, to));
      frame = Buffer.concat(this.held, this.heldSize + (to - from));
    }
    this.held = [];
    this.heldSize = 0;
    this.state = State.Header;
    const verdict = this.hooks.onFrame(this.type, this.length, frame.subarray(5));
    if (verdict === Verdict.Forward) this.hooks.emit(frame);
    else if (verdict !== Verdict.Drop) this.hooks.emit(verdict);
  }

  private checkHeader(): void {
    const limit = this.limits[this.type] ?? 0;
    if (limit === 0) {
      throw new PgError(SqlState.protocolViolation, `invalid ${this.direction} message type ${this.type}`);
    }
    if (this.length < 4 || this.length > limit) {
      throw new ProtocolFramingError('invalid message length');
    }
  }
}
