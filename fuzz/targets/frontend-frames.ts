import { Fe } from '../../src/protocol/constants.js';
import { PgError, ProtocolFramingError } from '../../src/protocol/errors.js';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { FrameScanner, Verdict } from '../../src/protocol/frame-scanner.js';
import { authLimits, frontendLimits } from '../../src/protocol/limits.js';
import { invariant, isExpected, split } from '../support.js';

const EXPECTED = [PgError, ProtocolFramingError];
/** What a blocked statement may be replaced with (the statement blocker sends SQL; any frame will do). */
const REPLACEMENT = Buffer.from([Fe.Sync, 0, 0, 0, 4]);

interface Seen {
  type: number;
  length: number;
  body: Buffer | null;
}

/**
 * The two framers must agree: FrameReader (handshake) and the relay's FrameScanner read
 * the same client bytes, each under its own data-derived split. Input: byte 0 seeds the
 * splits; byte 1 holds flags (bits 0-1: which frames the scanner holds: none, Q, Q and P,
 * all; bits 2-3: verdict for held frames: forward, drop every other, replace, mixed;
 * bit 4: authentication-phase limits; bit 5: a 256-byte message cap); then the stream.
 */
export function fuzz(data: Buffer): void {
  if (data.length < 2) return;
  const seed = data[0]!;
  const flags = data[1]!;
  const stream = data.subarray(2);
  const limits = flags & 0x10 ? authLimits() : frontendLimits(flags & 0x20 ? 256 : 1 << 20);
  const holdMode = flags & 3;
  const held = (type: number): boolean =>
    holdMode === 3 || (holdMode >= 1 && type === Fe.Query) || (holdMode === 2 && type === Fe.Parse);
  const verdict = (index: number): Verdict | Buffer => {
    const mode = (flags >> 2) & 3;
    const pick = mode === 3 ? index % 3 : mode === 1 ? index % 2 : mode;
    return pick === 0 ? Verdict.Forward : pick === 1 ? Verdict.Drop : REPLACEMENT;
  };

  const frames: Array<{ type: number; body: Buffer }> = [];
  const reader = new FrameReader(limits, 'frontend');
  const readerError = attempt(() => {
    for (const chunk of split(stream, seed)) {
      reader.push(chunk);
      for (let f = reader.next(); f; f = reader.next()) frames.push(f);
    }
  });

  const seen: Seen[] = [];
  const out: Buffer[] = [];
  const scanner = new FrameScanner(
    limits,
    {
      wantsBody: (type) => held(type),
      onFrame: (type, length, body) => {
        seen.push({ type, length, body });
        return body ? verdict(seen.length - 1) : Verdict.Forward;
      },
      emit: (bytes) => out.push(bytes),
    },
    'frontend',
  );
  // A different split for the scanner: the frames must not depend on where reads end.
  const scannerError = attempt(() => {
    for (const chunk of split(stream, seed ^ 0x5a)) scanner.scan(chunk);
  });

  invariant(
    (readerError === null) === (scannerError === null),
    `one framer failed, the other did not: ${String(readerError ?? scannerError)}`,
  );
  if (readerError && scannerError)
    invariant(readerError.constructor === scannerError.constructor, 'the framers failed differently');
  for (const [i, f] of frames.entries()) {
    const s = seen[i];
    invariant(s !== undefined, `the scanner missed frame ${i}`);
    invariant(s.type === f.type && s.length === f.body.length + 4, `frame ${i} differs between the framers`);
    invariant(s.length >= 4 && s.length <= limits[s.type]!, `frame ${i} is over its cap`);
    invariant((s.body !== null) === held(s.type), `frame ${i} held against the hook's answer`);
    invariant(s.body === null || s.body.equals(f.body), `frame ${i} body differs between the framers`);
  }
  if (readerError) {
    invariant(seen.length === frames.length, 'the framers failed after different frames');
    return;
  }

  const consumed = frames.reduce((n, f) => n + 5 + f.body.length, 0);
  invariant(consumed + reader.buffered === stream.length, 'consumed and buffered bytes do not add up');
  invariant(scanner.atBoundary === (reader.buffered === 0), 'the framers disagree on being between frames');
  // Only a streamed frame is announced before it is complete.
  const pending = seen.length - frames.length;
  invariant(
    pending === 0 || (pending === 1 && seen[frames.length]!.body === null),
    'the scanner saw frames the reader did not',
  );

  const parts: Buffer[] = [];
  let at = 0;
  for (const [i, f] of frames.entries()) {
    const raw = stream.subarray(at, at + 5 + f.body.length);
    at += raw.length;
    if (!held(f.type)) parts.push(raw);
    else {
      const v = verdict(i);
      if (v === Verdict.Forward) parts.push(raw);
      else if (v !== Verdict.Drop) parts.push(v);
    }
  }
  // A streamed frame in progress has passed on all its bytes so far; anything else pending none.
  if (pending === 1) parts.push(stream.subarray(consumed));
  invariant(Buffer.concat(out).equals(Buffer.concat(parts)), 'the scanner emitted other bytes than its verdicts imply');
}

function attempt(body: () => void): Error | null {
  try {
    body();
    return null;
  } catch (err) {
    if (isExpected(err, EXPECTED)) return err as Error;
    throw err;
  }
}
