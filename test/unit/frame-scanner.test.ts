import { describe, expect, it } from 'vitest';
import { Fe } from '../../src/protocol/constants.js';
import { PgError, ProtocolFramingError } from '../../src/protocol/errors.js';
import { FrameScanner, Verdict } from '../../src/protocol/frame-scanner.js';
import { frontendLimits } from '../../src/protocol/limits.js';

function frame(type: string, body: Buffer | string): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body + '\0') : body;
  const out = Buffer.alloc(5 + b.length);
  out[0] = type.charCodeAt(0);
  out.writeUInt32BE(4 + b.length, 1);
  b.copy(out, 5);
  return out;
}

/** Runs the scanner over `stream` cut at `cuts`, returning what it forwarded and saw. */
function run(stream: Buffer, cuts: number[], opts: { inspect?: string; drop?: string } = {}) {
  const out: Buffer[] = [];
  const seen: Array<{ type: string; body: string | null }> = [];
  const scanner = new FrameScanner(
    frontendLimits(1 << 20),
    {
      wantsBody: (t) => String.fromCharCode(t) === opts.inspect || String.fromCharCode(t) === opts.drop,
      onFrame: (t, _len, body) => {
        seen.push({ type: String.fromCharCode(t), body: body ? body.toString('latin1') : null });
        return String.fromCharCode(t) === opts.drop ? Verdict.Drop : Verdict.Forward;
      },
      emit: (b) => out.push(Buffer.from(b)),
    },
    'frontend',
  );
  let prev = 0;
  for (const cut of [...cuts, stream.length]) {
    scanner.scan(stream.subarray(prev, cut));
    prev = cut;
  }
  return { out: Buffer.concat(out), seen, atBoundary: scanner.atBoundary };
}

const stream = Buffer.concat([
  frame('Q', 'select 1'),
  frame('P', Buffer.from('\0select $1\0\0\0', 'latin1')),
  frame('S', Buffer.alloc(0)),
  frame('Q', 'select 2; select 3'),
  frame('X', Buffer.alloc(0)),
]);

describe('FrameScanner', () => {
  it('forwards every byte unchanged for every way of splitting the stream in two and three', () => {
    for (let a = 0; a <= stream.length; a++) {
      const r = run(stream, [a], { inspect: 'Q' });
      expect(r.out.equals(stream), `cut at ${a}`).toBe(true);
      expect(r.seen.map((s) => s.type).join('')).toBe('QPSQX');
      expect(r.seen.filter((s) => s.type === 'Q').map((s) => s.body)).toEqual(['select 1\0', 'select 2; select 3\0']);
      for (let b = a; b <= stream.length; b += 3) {
        expect(run(stream, [a, b], { inspect: 'Q' }).out.equals(stream), `cuts ${a},${b}`).toBe(true);
      }
    }
  });

  it('one byte at a time', () => {
    const cuts = Array.from({ length: stream.length }, (_, i) => i);
    const r = run(stream, cuts, { inspect: 'P' });
    expect(r.out.equals(stream)).toBe(true);
    expect(r.atBoundary).toBe(true);
  });

  it('drops exactly the frames the hook rejects, wherever the cuts fall', () => {
    const expected = Buffer.concat([
      frame('Q', 'select 1'),
      frame('P', Buffer.from('\0select $1\0\0\0', 'latin1')),
      frame('Q', 'select 2; select 3'),
      frame('X', Buffer.alloc(0)),
    ]);
    for (let a = 0; a <= stream.length; a++) {
      expect(run(stream, [a], { drop: 'S' }).out.equals(expected), `cut at ${a}`).toBe(true);
    }
  });

  it('emits zero-copy views when nothing is held', () => {
    const views: Buffer[] = [];
    const scanner = new FrameScanner(
      frontendLimits(1 << 20),
      { wantsBody: () => false, onFrame: () => Verdict.Forward, emit: (b) => views.push(b) },
      'frontend',
    );
    scanner.scan(stream);
    expect(views).toHaveLength(1);
    expect(views[0]!.buffer).toBe(stream.buffer);
  });

  it('refuses an unknown type byte with 08P01 naming it, like Postgres', () => {
    const bad = Buffer.concat([frame('Q', 'select 1'), frame('z', Buffer.alloc(0))]);
    expect(() => run(bad, [])).toThrowError(PgError);
    expect(() => run(bad, [])).toThrowError('invalid frontend message type 122');
  });

  it('refuses lengths below 4 and above the per-type cap without allocating', () => {
    const tiny = Buffer.from([Fe.Query, 0, 0, 0, 3]);
    expect(() => run(tiny, [])).toThrowError(ProtocolFramingError);
    const sync = Buffer.from([Fe.Sync, 0, 0, 0x27, 0x15]); // 10005 > small-message cap
    expect(() => run(sync, [])).toThrowError(ProtocolFramingError);
    const huge = Buffer.from([Fe.Query, 0xff, 0xff, 0xff, 0xff]); // read unsigned: far over any cap
    expect(() => run(huge, [])).toThrowError(ProtocolFramingError);
  });
});
