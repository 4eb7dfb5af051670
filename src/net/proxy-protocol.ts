/**
 * PROXY protocol version 2 (haproxy's proxy-protocol.txt), the header a TCP load balancer
 * puts before the client's bytes so the gateway sees the client's address, not its own.
 * Only honoured from configured sources: from anyone else such a header would let a client
 * claim any address (and pass CIDR rules and the login brake).
 */
const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Addresses plus a generous allowance of TLVs; anything longer is not a balancer talking. */
const MAX_BODY = 1024;

export class ProxyHeaderError extends Error {}

export type ProxyHeader =
  | { complete: false }
  | {
      complete: true;
      /** Bytes the header took; the client's own bytes follow. */
      length: number;
      /** The client as the balancer saw it; null for LOCAL (a health check) or an unspecified family. */
      source: { address: string; port: number } | null;
    };

export function parseProxyV2(buf: Buffer): ProxyHeader {
  const known = Math.min(buf.length, SIGNATURE.length);
  if (!buf.subarray(0, known).equals(SIGNATURE.subarray(0, known)))
    throw new ProxyHeaderError('no PROXY protocol v2 signature');
  if (buf.length < 16) return { complete: false };
  const version = buf[12]! >> 4;
  const command = buf[12]! & 0x0f;
  if (version !== 2 || command > 1) throw new ProxyHeaderError('unsupported PROXY protocol version or command');
  const bodyLength = buf.readUInt16BE(14);
  if (bodyLength > MAX_BODY) throw new ProxyHeaderError('PROXY protocol header too long');
  if (buf.length < 16 + bodyLength) return { complete: false };
  const length = 16 + bodyLength;
  if (command === 0) return { complete: true, length, source: null };
  const body = buf.subarray(16, length);
  switch (buf[13]) {
    case 0x11: // TCP over IPv4
      if (body.length < 12) throw new ProxyHeaderError('short PROXY protocol IPv4 addresses');
      return {
        complete: true,
        length,
        source: { address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8) },
      };
    case 0x21: {
      // TCP over IPv6
      if (body.length < 36) throw new ProxyHeaderError('short PROXY protocol IPv6 addresses');
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
      return { complete: true, length, source: { address: groups.join(':'), port: body.readUInt16BE(32) } };
    }
    case 0x00:
      return { complete: true, length, source: null };
    default:
      throw new ProxyHeaderError('unsupported PROXY protocol address family');
  }
}
