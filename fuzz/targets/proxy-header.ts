import { isIP } from 'node:net';
import { parseProxyV2, ProxyHeaderError } from '../../src/net/proxy-protocol.js';
import { invariant, tolerate } from '../support.js';

/**
 * A load balancer's PROXY v2 header, as the listener reads it: only ProxyHeaderError may
 * come out; a complete header lies within the bytes read, and any client it names has a
 * real IP address and port. Reading more bytes never changes a complete answer.
 */
export function fuzz(data: Buffer): void {
  tolerate([ProxyHeaderError], () => {
    const h = parseProxyV2(data);
    if (!h.complete) return;
    invariant(h.length >= 16 && h.length <= data.length, 'header length outside the bytes read');
    if (h.source) {
      invariant(isIP(h.source.address) !== 0, `not an IP address: ${h.source.address}`);
      invariant(h.source.port >= 0 && h.source.port <= 65535, 'port out of range');
    }
    const longer = parseProxyV2(Buffer.concat([data, Buffer.from('0000000804d2162f', 'hex')]));
    invariant(JSON.stringify(longer) === JSON.stringify(h), 'trailing client bytes changed the header');
  });
}
