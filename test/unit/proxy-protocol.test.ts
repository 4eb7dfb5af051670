import { describe, expect, it } from 'vitest';
import { parseProxyV2, ProxyHeaderError } from '../../src/net/proxy-protocol.js';

const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const header = (verCmd: number, fam: number, body: Buffer): Buffer => {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([SIG, Buffer.from([verCmd, fam]), len, body]);
};
const ports = (src: number, dst: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(src, 0);
  b.writeUInt16BE(dst, 2);
  return b;
};

describe('PROXY protocol v2 header', () => {
  it('TCP over IPv4: the source address and port, and where the client bytes start', () => {
    const h = header(0x21, 0x11, Buffer.concat([Buffer.from([203, 0, 113, 7, 10, 0, 0, 1]), ports(50000, 6432)]));
    const withClient = Buffer.concat([h, Buffer.from('0000000804d2162f', 'hex')]);
    expect(parseProxyV2(withClient)).toEqual({
      complete: true,
      length: h.length,
      source: { address: '203.0.113.7', port: 50000 },
    });
  });

  it('TCP over IPv6, TLVs after the addresses skipped', () => {
    const src = Buffer.from('20010db8000000000000000000000007', 'hex');
    const tlv = Buffer.from([0x04, 0x00, 0x01, 0x00]);
    const h = header(0x21, 0x21, Buffer.concat([src, Buffer.alloc(16), ports(1234, 6432), tlv]));
    expect(parseProxyV2(h)).toEqual({
      complete: true,
      length: h.length,
      source: { address: '2001:db8:0:0:0:0:0:7', port: 1234 },
    });
  });

  it('LOCAL (a health check) names no client', () => {
    expect(parseProxyV2(header(0x20, 0x00, Buffer.alloc(0)))).toEqual({ complete: true, length: 16, source: null });
  });

  it('incomplete until the whole header is there', () => {
    const h = header(0x21, 0x11, Buffer.concat([Buffer.alloc(8), ports(1, 2)]));
    for (const n of [1, 12, 15, 16, h.length - 1]) expect(parseProxyV2(h.subarray(0, n))).toEqual({ complete: false });
  });

  it.each([
    ['a StartupMessage instead', Buffer.from('0000000804d2162f', 'hex')],
    ['version 1 (text) header', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')],
    ['version 3', header(0x31, 0x11, Buffer.alloc(12))],
    ['an unknown command', header(0x22, 0x11, Buffer.alloc(12))],
    ['IPv4 addresses cut short', header(0x21, 0x11, Buffer.alloc(6))],
    ['a 2 kB header', header(0x21, 0x11, Buffer.alloc(2048))],
    ['UDP', header(0x21, 0x12, Buffer.alloc(12))],
  ])('refuses %s', (_n, bytes) => {
    expect(() => parseProxyV2(bytes)).toThrow(ProxyHeaderError);
  });
});
