import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScramServerExchange } from '../../src/auth/scram-server.js';
import { parsePasswordMessage, parseSASLInitialResponse } from '../../src/protocol/auth-messages.js';
import { PgError, ProtocolFramingError } from '../../src/protocol/errors.js';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { FrameScanner, Verdict } from '../../src/protocol/frame-scanner.js';
import { frontendLimits } from '../../src/protocol/limits.js';
import { parseStartupPacket } from '../../src/protocol/startup.js';
import { parseOptions, splitOptions } from '../../src/policy/options.js';

/** Errors the gateway turns into a clean FATAL; anything else would be a crash. */
const expected = (err: unknown): boolean => err instanceof PgError || err instanceof ProtocolFramingError;

function frame(type: string, body: Buffer): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out.write(type, 0, 'latin1');
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

/** Splits bytes at arbitrary points, as TCP may deliver them. */
const splits = (bytes: Buffer, cuts: number[]): Buffer[] => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(bytes.subarray(last, p));
    last = p;
  }
  out.push(bytes.subarray(last));
  return out;
};

const message = fc.record({
  type: fc.constantFrom('Q', 'P', 'B', 'E', 'S', 'D', 'C', 'H', 'd', 'c', 'f'),
  body: fc.uint8Array({ maxLength: 300 }),
});

describe('relay frame scanner (property-based)', () => {
  it('forwards exactly the bytes it was given, however the stream is split', () => {
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        fc.boolean(),
        (msgs, cuts, inspect) => {
          const stream = Buffer.concat(msgs.map((m) => frame(m.type, Buffer.from(m.body))));
          const out: Buffer[] = [];
          const seen: string[] = [];
          const scanner = new FrameScanner(
            frontendLimits(1 << 20),
            {
              wantsBody: (t) => inspect && t === 0x51,
              onFrame: (t) => {
                seen.push(String.fromCharCode(t));
                return Verdict.Forward;
              },
              emit: (b) => out.push(Buffer.from(b)),
            },
            'frontend',
          );
          for (const piece of splits(stream, cuts)) scanner.scan(piece);
          expect(Buffer.concat(out).equals(stream)).toBe(true);
          expect(seen).toEqual(msgs.map((m) => m.type));
          expect(scanner.atBoundary).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never throws anything but a protocol error on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2_000 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const scanner = new FrameScanner(
          frontendLimits(1 << 16),
          { wantsBody: () => true, onFrame: () => Verdict.Forward, emit: () => undefined },
          'frontend',
        );
        try {
          for (const piece of splits(Buffer.from(bytes), cuts)) scanner.scan(piece);
        } catch (err) {
          expect(expected(err)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('handshake frame reader and startup parser (property-based)', () => {
  it('returns each message whole and in order, however it is split', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 20 }), (msgs, cuts) => {
        const stream = Buffer.concat(msgs.map((m) => frame(m.type, Buffer.from(m.body))));
        const reader = new FrameReader(frontendLimits(1 << 20), 'frontend');
        const got: Array<{ type: string; body: string }> = [];
        for (const piece of splits(stream, cuts)) {
          reader.push(piece);
          for (let f = reader.next(); f; f = reader.next())
            got.push({ type: String.fromCharCode(f.type), body: f.body.toString('hex') });
        }
        expect(got).toEqual(msgs.map((m) => ({ type: m.type, body: Buffer.from(m.body).toString('hex') })));
      }),
      { numRuns: 300 },
    );
  });

  it('parses or cleanly refuses any startup packet body', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), Buffer.from(bytes)]);
        try {
          const p = parseStartupPacket(body);
          if (p.kind === 'startup')
            for (const [n, v] of p.params) expect(typeof n === 'string' && typeof v === 'string').toBe(true);
        } catch (err) {
          expect(expected(err)).toBe(true);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('round-trips well-formed parameters', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_.]{0,20}$/).filter((n) => n !== 'user' && n !== 'database');
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !s.includes('\0')),
        fc.array(
          fc.tuple(
            name,
            fc.string({ maxLength: 30 }).filter((s) => !s.includes('\0')),
          ),
          { maxLength: 8 },
        ),
        (user, params) => {
          const all: Array<[string, string]> = [['user', user], ...params];
          const body = Buffer.concat([
            Buffer.from([0, 3, 0, 0]),
            Buffer.from(all.map(([k, v]) => `${k}\0${v}\0`).join('') + '\0', 'utf8'),
          ]);
          const p = parseStartupPacket(body);
          expect(p.kind === 'startup' && p.params).toEqual(all);
        },
      ),
      { numRuns: 300 },
    );
  });

  // Found by fuzz/targets/startup-packet (fuzz/corpus/startup-packet/crash-bom-dropped-from-name.bin):
  // the UTF-8 decoder dropped a leading U+FEFF, so "\uFEFFuser" read as a second "user".
  it('keeps a leading byte order mark: names and values are exactly the bytes sent', () => {
    const body = Buffer.concat([
      Buffer.from([0, 3, 0, 0]),
      Buffer.from('\uFEFFuser\0mallory\0user\0\uFEFFalice\0\0', 'utf8'),
    ]);
    const p = parseStartupPacket(body);
    expect(p.kind === 'startup' && p.params).toEqual([
      ['\uFEFFuser', 'mallory'],
      ['user', '\uFEFFalice'],
    ]);
  });

  it('decoded parameters re-encode to the bytes received', () => {
    const text = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !s.includes('\0'));
    const bom = fc.constantFrom('', '\uFEFF');
    fc.assert(
      fc.property(fc.array(fc.tuple(bom, text, bom, text), { maxLength: 6 }), (raw) => {
        // The "x" keeps names non-empty and distinct from user and database.
        const params = raw.map(([b1, n, b2, v]) => [`${b1}x${n}`, `${b2}${v}`]);
        const bytes = Buffer.from(params.map(([n, v]) => `${n}\0${v}\0`).join('') + '\0', 'utf8');
        const p = parseStartupPacket(Buffer.concat([Buffer.from([0, 3, 0, 0]), bytes]));
        expect(p.kind === 'startup' && p.params).toEqual(params);
      }),
      { numRuns: 200 },
    );
  });
});

describe('authentication message parsers (property-based)', () => {
  it('password and SASL messages parse or fail as protocol errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        for (const parse of [parsePasswordMessage, parseSASLInitialResponse]) {
          try {
            parse(Buffer.from(bytes));
          } catch (err) {
            expect(expected(err)).toBe(true);
          }
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('a SCRAM exchange fed arbitrary client messages fails as 28P01 or 08P01, never otherwise', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (first, final) => {
        const ex = new ScramServerExchange({
          user: 'alice',
          credentials: null,
          mockSecret: Buffer.alloc(32, 1),
          mockIterations: 256,
          channelBinding: null,
        });
        try {
          const started = ex.start('SCRAM-SHA-256', Buffer.from(first));
          if ('serverFirst' in started) ex.clientFinal(Buffer.from(final));
          throw new Error('an unknown user must never authenticate');
        } catch (err) {
          expect(err instanceof PgError).toBe(true);
          expect(['28P01', '08P01']).toContain((err as PgError).code);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('options splitting (property-based)', () => {
  it('splitting the escaped form of any words gives the words back', () => {
    const word = fc.string({ minLength: 1, maxLength: 12 }).filter((w) => !w.includes('\0'));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), (words) => {
        const escaped = words.map((w) => w.replace(/[\\\s]/g, (c) => `\\${c}`)).join(' ');
        expect(splitOptions(escaped)).toEqual(words);
        try {
          parseOptions(escaped);
        } catch (err) {
          expect((err as Error).name).toBe('OptionsError');
        }
      }),
      { numRuns: 500 },
    );
  });
});
