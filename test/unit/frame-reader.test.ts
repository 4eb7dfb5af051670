import { describe, expect, it } from 'vitest';
import { ProtocolFramingError } from '../../src/protocol/errors.js';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { authLimits } from '../../src/protocol/limits.js';

const startup = (body: Buffer): Buffer => {
  const out = Buffer.alloc(4 + body.length);
  out.writeUInt32BE(4 + body.length, 0);
  body.copy(out, 4);
  return out;
};

describe('FrameReader', () => {
  it('reassembles a startup packet split byte by byte and keeps what follows', () => {
    const packet = startup(Buffer.from('\x00\x03\x00\x00user\0alice\0\0', 'latin1'));
    const r = new FrameReader(authLimits(), 'frontend');
    for (let i = 0; i < packet.length - 1; i++) {
      r.push(packet.subarray(i, i + 1));
      expect(r.nextStartupPacket()).toBeNull();
    }
    r.push(Buffer.concat([packet.subarray(packet.length - 1), Buffer.from('p')]));
    expect(r.nextStartupPacket()!.toString('latin1')).toBe('\x00\x03\x00\x00user\0alice\0\0');
    expect(r.buffered).toBe(1);
  });

  it('accepts the 10004-byte boundary and refuses 10005 and negative lengths', () => {
    const ok = new FrameReader(authLimits(), 'frontend');
    const buf = Buffer.alloc(10004);
    buf.writeUInt32BE(10004, 0);
    ok.push(buf);
    expect(ok.nextStartupPacket()!.length).toBe(10000);
    for (const len of [10005, 0x80000000, 0xffffffff, 7, 0]) {
      const r = new FrameReader(authLimits(), 'frontend');
      const b = Buffer.alloc(4);
      b.writeUInt32BE(len, 0);
      r.push(b);
      expect(() => r.nextStartupPacket(), `length ${len}`).toThrowError(ProtocolFramingError);
    }
  });

  it('reads typed messages across chunk boundaries', () => {
    const msg = Buffer.from('p\x00\x00\x00\x09toke\0', 'latin1');
    const r = new FrameReader(authLimits(), 'frontend');
    r.push(msg.subarray(0, 3));
    expect(r.next()).toBeNull();
    r.push(msg.subarray(3));
    const f = r.next()!;
    expect(String.fromCharCode(f.type)).toBe('p');
    expect(f.body.toString('latin1')).toBe('toke\0');
  });

  it('caps a password message at 65535 bytes', () => {
    const r = new FrameReader(authLimits(), 'frontend');
    const b = Buffer.alloc(5);
    b[0] = 'p'.charCodeAt(0);
    b.writeUInt32BE(65536, 1);
    r.push(b);
    expect(() => r.next()).toThrowError(ProtocolFramingError);
  });
});
