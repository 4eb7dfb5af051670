import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { PeerClosedError } from '../../net/socket-reader.js';
import { PrefixedStream } from '../../net/prefixed-stream.js';
import { parseProxyV2 } from '../../net/proxy-protocol.js';
import * as W from '../../protocol/backend-writer.js';
import { TLS_HANDSHAKE_RECORD } from '../../protocol/constants.js';
import { PgError, ProtocolFramingError, protocolViolation } from '../../protocol/errors.js';
import { SqlState } from '../../protocol/sqlstate.js';
import { parseStartupPacket, type StartupPacket } from '../../protocol/startup.js';
import type { AddressSet } from '../../util/address-set.js';
import type { ClientLink } from '../client-link.js';
import type { ServerTls } from '../server-tls.js';

export type Startup = Extract<StartupPacket, { kind: 'startup' }>;

/** What a connection turned out to carry before any authentication. */
export type Negotiated =
  { kind: 'startup'; packet: Startup } | { kind: 'cancel'; pid: number; key: Buffer } | { kind: 'nothing' };

export interface NegotiatePorts {
  /** Null: this gateway offers no TLS (SSLRequest is refused, direct TLS dropped). */
  tls: ServerTls | null;
  /** Load balancers whose PROXY v2 headers name the real client. */
  proxyFrom: AddressSet | null;
}

/** A TLS handshake that failed: dropped without a word, as Postgres does. */
export class TlsHandshakeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TlsHandshakeError';
  }
}

/**
 * The connection's first bytes: an optional PROXY header from a trusted balancer, then
 * encryption (SSLRequest, direct TLS, a refused GSSENCRequest), then the StartupMessage or
 * a CancelRequest. Leaves `link` reading (through TLS when negotiated).
 */
export async function negotiate(link: ClientLink, ports: NegotiatePorts): Promise<Negotiated> {
  let first = await firstChunk(link);
  if (first && ports.proxyFrom?.has(link.raw.remoteAddress)) first = await proxyHeader(link, first);
  if (!first) return { kind: 'nothing' };
  if (first[0] === TLS_HANDSHAKE_RECORD) {
    if (!ports.tls) return { kind: 'nothing' };
    await upgrade(link, ports.tls, new PrefixedStream(link.raw, first), true);
  } else link.readFrom(link.raw, first);
  let sslTried = link.tls !== null;
  let gssTried = false;
  for (;;) {
    const packet = parseStartupPacket(await link.reader.startupPacket());
    switch (packet.kind) {
      case 'cancel':
        return { kind: 'cancel', pid: packet.pid, key: packet.key };
      case 'startup':
        link.mark('startup');
        return { kind: 'startup', packet };
      case 'ssl-request': {
        // Stricter than Postgres: the request is exactly 8 bytes, and never inside TLS.
        if (packet.bodyLength !== 4 || link.tls) return { kind: 'nothing' };
        if (sslTried) throw unsupportedVersion(1234, 5679);
        sslTried = true;
        const early = link.reader.buffered > 0;
        if (!ports.tls || early) {
          link.write(W.sslRefused());
          if (early) throw unencryptedAfter('SSL');
          continue;
        }
        link.write(W.sslAccepted());
        link.handOver();
        await upgrade(link, ports.tls, link.raw, false);
        continue;
      }
      case 'gssenc-request': {
        if (packet.bodyLength !== 4) return { kind: 'nothing' };
        if (gssTried) throw unsupportedVersion(1234, 5680);
        gssTried = true;
        link.write(W.sslRefused());
        if (link.reader.buffered > 0) throw unencryptedAfter('GSSAPI encryption');
        continue;
      }
    }
  }
}

function firstChunk(link: ClientLink): Promise<Buffer | null> {
  const raw = link.raw;
  return new Promise((resolve) => {
    const onData = (chunk: Buffer): void => {
      cleanup();
      raw.pause();
      resolve(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(null);
    };
    const cleanup = (): void => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('close', onEnd);
      raw.off('error', onEnd);
    };
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('close', onEnd);
    raw.on('error', onEnd);
    // A second read (after a PROXY header) finds the socket paused by the first.
    raw.resume();
  });
}

/**
 * A trusted load balancer's PROXY v2 header: the client's address replaces the balancer's
 * for policy, the login brake, audit and logs. Returns the client's first bytes after it.
 */
async function proxyHeader(link: ClientLink, first: Buffer): Promise<Buffer | null> {
  let buf = first;
  for (;;) {
    let header;
    try {
      header = parseProxyV2(buf);
    } catch (err) {
      // Nothing is answered: a balancer that speaks no PROXY is misconfigured, not a client.
      throw new ProtocolFramingError((err as Error).message);
    }
    if (header.complete) {
      if (header.source) {
        link.addr = header.source.address;
        link.port = header.source.port;
      }
      const rest = buf.subarray(header.length);
      return rest.length > 0 ? rest : firstChunk(link);
    }
    const more = await firstChunk(link);
    if (!more) return null;
    buf = Buffer.concat([buf, more]);
  }
}

async function upgrade(link: ClientLink, serverTls: ServerTls, transport: Duplex, direct: boolean): Promise<void> {
  const socket = new tls.TLSSocket(transport, {
    isServer: true,
    secureContext: serverTls.context,
    ALPNProtocols: ['postgresql'],
  });
  // The deadline may fire mid-handshake: destroying the link must reach this socket.
  link.socket = socket;
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => reject(new TlsHandshakeError(err.message));
    socket.once('secure', () => {
      socket.off('error', onError);
      resolve();
    });
    socket.once('error', onError);
    socket.once('close', () => reject(new PeerClosedError(false)));
  });
  // Direct TLS must have negotiated ALPN "postgresql" (backend_startup.c).
  if (direct && socket.alpnProtocol !== 'postgresql') {
    socket.destroy();
    throw new TlsHandshakeError('direct SSL connection without ALPN protocol negotiation');
  }
  link.encrypted(socket);
  link.mark('tls');
}

function unsupportedVersion(major: number, minor: number): PgError {
  return new PgError(
    SqlState.featureNotSupported,
    `unsupported frontend protocol ${major}.${minor}: server supports 3.0 to 3.2`,
  );
}

function unencryptedAfter(what: string): PgError {
  return protocolViolation(
    `received unencrypted data after ${what} request`,
    'This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.',
  );
}
