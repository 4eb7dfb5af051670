import { describe, expect, it } from 'vitest';
import { PgError, ProtocolFramingError } from '../../src/protocol/errors.js';
import { parseStartupPacket, printable, truncateIdentifier } from '../../src/protocol/startup.js';

const body = (version: number, payload: string): Buffer => {
  const p = Buffer.from(payload, 'latin1');
  const b = Buffer.alloc(4 + p.length);
  b.writeUInt32BE(version, 0);
  p.copy(b, 4);
  return b;
};

const V30 = 0x00030000;

function pgError(fn: () => unknown): PgError {
  try {
    fn();
  } catch (err) {
    if (err instanceof PgError) return err;
    throw err;
  }
  throw new Error('expected a PgError');
}

describe('parseStartupPacket', () => {
  it('reads parameters in order', () => {
    const p = parseStartupPacket(body(V30, 'user\0alice\0database\0app\0\0'));
    expect(p).toEqual({
      kind: 'startup',
      major: 3,
      minor: 0,
      params: [
        ['user', 'alice'],
        ['database', 'app'],
      ],
    });
  });

  it('recognises SSLRequest, GSSENCRequest and CancelRequest', () => {
    expect(parseStartupPacket(Buffer.from('04d2162f', 'hex'))).toEqual({ kind: 'ssl-request', bodyLength: 4 });
    expect(parseStartupPacket(Buffer.from('04d21630', 'hex'))).toEqual({ kind: 'gssenc-request', bodyLength: 4 });
    const cancel = parseStartupPacket(Buffer.from('04d2162e0000002a01020304', 'hex'));
    expect(cancel).toMatchObject({ kind: 'cancel', pid: 42 });
  });

  it.each([
    ['no terminator', 'user\0alice\0'],
    ['trailing bytes after the terminator', 'user\0alice\0\0x'],
    ['a name with no value', 'user\0alice\0database\0\0'],
  ])('refuses %s with the Postgres layout error', (_name, payload) => {
    const e = pgError(() => parseStartupPacket(body(V30, payload)));
    expect(e.code).toBe('08P01');
    expect(e.message).toBe('invalid startup packet layout: expected terminator as last byte');
  });

  it('refuses a second user or database (Postgres would silently use the last one)', () => {
    const e = pgError(() => parseStartupPacket(body(V30, 'user\0alice\0user\0admin\0\0')));
    expect(e.code).toBe('08P01');
    expect(e.message).toContain('duplicate startup parameter "user"');
    expect(pgError(() => parseStartupPacket(body(V30, 'user\0a\0database\0x\0database\0y\0\0'))).message).toContain(
      '"database"',
    );
  });

  it('keeps other duplicates in arrival order for policy to judge', () => {
    const p = parseStartupPacket(body(V30, 'user\0a\0application_name\0x\0application_name\0y\0\0'));
    expect(p.kind === 'startup' && p.params).toEqual([
      ['user', 'a'],
      ['application_name', 'x'],
      ['application_name', 'y'],
    ]);
  });

  it.each([
    [0x00020000, '2.0'],
    [0x00040000, '4.0'],
    [0x04d21631, '1234.5681'],
  ])('refuses protocol %s with 0A000', (version, text) => {
    const e = pgError(() => parseStartupPacket(body(version, 'user\0a\0\0')));
    expect(e.code).toBe('0A000');
    expect(e.message).toBe(`unsupported frontend protocol ${text}: server supports 3.0 to 3.2`);
  });

  it('refuses invalid UTF-8 rather than decoding it lossily', () => {
    const e = pgError(() => parseStartupPacket(body(V30, 'user\0\xff\xfe\0\0')));
    expect(e.code).toBe('22021');
  });

  it('refuses cancel keys shorter than 4 or longer than 256 bytes', () => {
    expect(() => parseStartupPacket(Buffer.from('04d2162e0000002a', 'hex'))).toThrow(ProtocolFramingError);
    const long = Buffer.concat([Buffer.from('04d2162e0000002a', 'hex'), Buffer.alloc(257)]);
    expect(() => parseStartupPacket(long)).toThrow(ProtocolFramingError);
  });
});

describe('identifiers', () => {
  it('truncates to 63 bytes without splitting a character', () => {
    expect(truncateIdentifier('a'.repeat(100))).toBe('a'.repeat(63));
    expect(Buffer.byteLength(truncateIdentifier('é'.repeat(40)))).toBe(62);
  });

  it('escapes control and non-ASCII bytes for logs', () => {
    expect(printable('psql\x01\nü')).toBe('psql\\x01\\x0a\\xc3\\xbc');
  });
});
