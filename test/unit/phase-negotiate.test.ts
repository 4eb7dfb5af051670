import { afterEach, describe, expect, it } from 'vitest';
import { ClientLink } from '../../src/gateway/client-link.js';
import { negotiate } from '../../src/gateway/phases/negotiate.js';
import { PgError, ProtocolFramingError } from '../../src/protocol/errors.js';
import { cancelRequest, startupMessage } from '../../src/protocol/frontend-writer.js';
import { AddressSet } from '../../src/util/address-set.js';
import { MessageQueue, socketPair } from '../harness/socket-pair.js';

const pairs: Array<{ close(): void }> = [];
afterEach(() => {
  for (const p of pairs.splice(0)) p.close();
});

async function setup(proxyFrom: AddressSet | null = null) {
  const pair = await socketPair();
  pairs.push(pair);
  const link = new ClientLink(pair.server);
  const result = negotiate(link, { tls: null, proxyFrom });
  return { ...pair, link, result, from: new MessageQueue(pair.client) };
}

/** An 8-byte request packet (SSLRequest 80877103, GSSENCRequest 80877104). */
const request = (code: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(8, 0);
  b.writeUInt32BE(code, 4);
  return b;
};
const SSL = request(80877103);
const GSS = request(80877104);

describe('negotiate phase (over a socket pair)', () => {
  it('a StartupMessage: startup, with its parameters and minor version', async () => {
    const s = await setup();
    s.client.write(
      startupMessage(
        [
          ['user', 'alice'],
          ['database', 'app'],
        ],
        2,
      ),
    );
    const got = await s.result;
    expect(got.kind).toBe('startup');
    if (got.kind !== 'startup') return;
    expect(got.packet.params).toEqual([
      ['user', 'alice'],
      ['database', 'app'],
    ]);
    expect(got.packet.minor).toBe(2);
    expect(s.link.tls).toBeNull();
    expect(s.link.stages['startup']).toBeGreaterThanOrEqual(0);
  });

  it('a CancelRequest: cancel, with its pid and key (the caller routes it)', async () => {
    const s = await setup();
    const key = Buffer.from('0a0b0c0d', 'hex');
    s.client.write(cancelRequest(4242, key));
    expect(await s.result).toEqual({ kind: 'cancel', pid: 4242, key });
  });

  it('SSLRequest on a gateway without TLS: N, then the StartupMessage in the clear', async () => {
    const s = await setup();
    s.client.write(SSL);
    expect(await s.from.byte()).toBe('N'.charCodeAt(0));
    s.client.write(startupMessage([['user', 'bob']]));
    expect((await s.result).kind).toBe('startup');
  });

  it('GSSENCRequest is refused with N; the client may go on', async () => {
    const s = await setup();
    s.client.write(GSS);
    expect(await s.from.byte()).toBe('N'.charCodeAt(0));
    s.client.write(startupMessage([['user', 'bob']]));
    expect((await s.result).kind).toBe('startup');
  });

  it('bytes pipelined after an SSLRequest are a protocol violation (possible man in the middle)', async () => {
    const s = await setup();
    s.client.write(Buffer.concat([SSL, startupMessage([['user', 'bob']])]));
    const err = await s.result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgError);
    expect((err as PgError).code).toBe('08P01');
    expect((err as PgError).message).toMatch(/unencrypted data after SSL request/);
  });

  it('a second SSLRequest is refused as an unsupported protocol', async () => {
    const s = await setup();
    s.client.write(SSL);
    await s.from.byte();
    s.client.write(SSL);
    const err = (await s.result.catch((e: unknown) => e)) as PgError;
    expect(err.code).toBe('0A000');
    expect(err.message).toMatch(/1234\.5679/);
  });

  it('direct TLS on a gateway without TLS: nothing', async () => {
    const s = await setup();
    s.client.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]));
    expect(await s.result).toEqual({ kind: 'nothing' });
  });

  it('a client that leaves without a word: nothing', async () => {
    const s = await setup();
    s.client.end();
    expect(await s.result).toEqual({ kind: 'nothing' });
  });

  it('from a trusted balancer, the PROXY v2 header names the client', async () => {
    const s = await setup(new AddressSet(['127.0.0.1']));
    const sig = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
    const body = Buffer.from([203, 0, 113, 7, 10, 0, 0, 1, 0xc3, 0x50, 0x19, 0x20]);
    const header = Buffer.concat([sig, Buffer.from([0x21, 0x11, 0, body.length]), body]);
    // Header and startup split across writes, as a balancer may send them.
    s.client.write(header.subarray(0, 10));
    await new Promise((r) => setTimeout(r, 20));
    s.client.write(Buffer.concat([header.subarray(10), startupMessage([['user', 'carol']])]));
    expect((await s.result).kind).toBe('startup');
    expect(s.link.addr).toBe('203.0.113.7');
    expect(s.link.port).toBe(50000);
  });

  it('from a trusted balancer, anything but a PROXY header is dropped', async () => {
    const s = await setup(new AddressSet(['127.0.0.1']));
    s.client.write(startupMessage([['user', 'carol']]));
    expect(await s.result.catch((e: unknown) => e)).toBeInstanceOf(ProtocolFramingError);
  });
});
