import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { serialize } from 'pg-protocol';
import { tlsServerEndPoint } from '../auth/channel-binding.js';
import { ScramClientExchange, ScramKeyCache } from '../auth/scram-client.js';
import { SocketMessageReader, PeerClosedError } from '../net/socket-reader.js';
import { decodeHandshake, type ServerFields } from '../protocol/backend-messages.js';
import { AuthCode } from '../protocol/constants.js';
import { FrameReader } from '../protocol/frame-reader.js';
import { upstreamHandshakeLimits } from '../protocol/limits.js';
import { startupMessage } from '../protocol/frontend-writer.js';
import { UpstreamError } from './errors.js';

export type UpstreamTlsMode = 'verify-full' | 'verify-ca' | 'require' | 'disable';
export type UpstreamAuthMethod = 'scram-sha-256' | 'md5' | 'password';

export interface UpstreamEndpoint {
  host: string;
  port: number;
  tlsMode: UpstreamTlsMode;
  /** 'direct' starts TLS at once (Postgres 17+, ALPN postgresql), saving the SSLRequest round trip. */
  tlsNegotiation?: 'postgres' | 'direct';
  ca?: string | undefined;
  serverName?: string | undefined;
  /** Methods the gateway will answer; anything else aborts (libpq's require_auth). */
  allowedAuth: readonly UpstreamAuthMethod[];
  connectTimeoutMs: number;
  /** Newest minor version of protocol 3 to ask for (0 or 2); the server may negotiate down to 0. */
  protocolMinor?: number;
}

export interface UpstreamLogin {
  user: string;
  database: string;
  password: string;
  /** Further startup parameters, already approved by policy. */
  params: ReadonlyArray<readonly [string, string]>;
}

export interface UpstreamConnection {
  socket: net.Socket | tls.TLSSocket;
  parameters: Array<[string, string]>;
  pid: number;
  /** 4 bytes in protocol 3.0, up to 256 in 3.2 (Postgres 18 sends 32). */
  key: Buffer;
  /** The minor version the session runs (0 or 2), after any negotiation. */
  protocolMinor: number;
  /** Bytes that arrived after ReadyForQuery: the relay must see them first. */
  leftover: Buffer;
  tls: { version: string | null; cipher: string | null } | null;
  authMethod: UpstreamAuthMethod | 'trust';
  channelBound: boolean;
}

/** Process-wide: derived SCRAM keys of upstream credentials (never the passwords). */
const scramKeys = new ScramKeyCache();

function dial(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new UpstreamError('timeout', `timed out connecting to ${host}:${port}`));
    }, timeoutMs);
    socket.once('close', () => clearTimeout(timer));
    const onError = (err: Error): void =>
      reject(
        new UpstreamError('unreachable', `cannot reach ${host}:${port}: ${err.message}`, undefined, { cause: err }),
      );
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

export async function startTls(socket: net.Socket, ep: UpstreamEndpoint): Promise<tls.TLSSocket> {
  if (ep.tlsNegotiation !== 'direct') await requestSsl(socket);
  const verify = ep.tlsMode === 'verify-full' || ep.tlsMode === 'verify-ca';
  const servername = ep.serverName ?? (net.isIP(ep.host) ? undefined : ep.host);
  const secure = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const secure = tls.connect({
      socket,
      ...(servername ? { servername } : {}),
      ...(ep.ca ? { ca: ep.ca } : {}),
      rejectUnauthorized: verify,
      ALPNProtocols: ['postgresql'],
      minVersion: 'TLSv1.2',
      // verify-ca checks the chain only; verify-full also the name (checked below for IPs too).
      checkServerIdentity:
        ep.tlsMode === 'verify-full'
          ? (_host, cert) => tls.checkServerIdentity(ep.serverName ?? ep.host, cert)
          : () => undefined,
    });
    secure.once('secureConnect', () => {
      secure.off('error', onError);
      resolve(secure);
    });
    const onError = (err: Error): void =>
      reject(new UpstreamError('tls', `TLS to upstream failed: ${err.message}`, undefined, { cause: err }));
    secure.once('error', onError);
  });
  // libpq 17 insists on the ALPN answer for direct TLS: a server that ignores ALPN may not be Postgres.
  if (ep.tlsNegotiation === 'direct' && secure.alpnProtocol !== 'postgresql') {
    secure.destroy();
    throw new UpstreamError('tls', 'upstream did not select the postgresql ALPN protocol for direct TLS');
  }
  return secure;
}

/** The SSLRequest exchange: the server must answer 'S' and nothing more before the handshake. */
async function requestSsl(socket: net.Socket): Promise<void> {
  socket.write(serialize.requestSsl());
  const reader = new SocketMessageReader(socket, new FrameReader(new Uint32Array(256), 'backend'));
  const answer = await reader.byte();
  // Anything after the answer byte was not protected by TLS (CVE-2021-23222).
  if (reader.buffered > 0) throw new UpstreamError('protocol', 'received unencrypted data after SSL response');
  reader.release();
  if (answer === 0x45) throw new UpstreamError('tls', 'server sent an error response during SSL exchange');
  if (answer !== 0x53) throw new UpstreamError('tls', 'server does not support SSL, but SSL was required');
}

const md5hex = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');

function requireMethod(ep: UpstreamEndpoint, method: UpstreamAuthMethod): void {
  if (!ep.allowedAuth.includes(method)) {
    throw new UpstreamError('auth', `upstream asked for ${method} authentication, which this target does not allow`);
  }
}

/**
 * Opens an authenticated session to the real Postgres with the vaulted credential and
 * reads it up to ReadyForQuery. Pins the auth method and verifies the server's SCRAM
 * signature, so a server that skips authentication is refused (libpq's require_auth).
 */
export async function connectUpstream(ep: UpstreamEndpoint, login: UpstreamLogin): Promise<UpstreamConnection> {
  const started = Date.now();
  let socket: net.Socket | tls.TLSSocket = await dial(ep.host, ep.port, ep.connectTimeoutMs);
  let timedOut = false;
  const timer = setTimeout(
    () => {
      timedOut = true;
      socket.destroy();
    },
    Math.max(1, ep.connectTimeoutMs - (Date.now() - started)),
  );
  try {
    if (ep.tlsMode !== 'disable') socket = await startTls(socket, ep);
    const tlsSocket = socket instanceof tls.TLSSocket ? socket : null;
    socket.setNoDelay(true);
    const reader = new SocketMessageReader(socket, new FrameReader(upstreamHandshakeLimits(), 'backend'));
    const requestedMinor = ep.protocolMinor ?? 0;
    let protocolMinor = requestedMinor;
    socket.write(startupMessage([['user', login.user], ['database', login.database], ...login.params], requestedMinor));

    let scram: ScramClientExchange | null = null;
    let authMethod: UpstreamConnection['authMethod'] = 'trust';
    let authenticated = false;
    const parameters: Array<[string, string]> = [];
    let pid = 0;
    let key: Buffer | null = null;
    let sawAuth = false;
    let negotiated = false;
    for (;;) {
      const msg = decodeHandshake(await reader.message());
      switch (msg.type) {
        case 'auth':
          sawAuth = true;
          if (authenticated)
            throw new UpstreamError('protocol', 'authentication request after authentication completed');
          switch (msg.code) {
            case AuthCode.Ok:
              if (scram && !scram.completed) throw new UpstreamError('auth', 'server did not complete authentication');
              if (!scram && authMethod === 'trust') {
                // The server let us in without checking the credential: not the server we expect.
                throw new UpstreamError('auth', 'server did not complete authentication');
              }
              authenticated = true;
              break;
            case AuthCode.CleartextPassword:
              requireMethod(ep, 'password');
              if (!tlsSocket) throw new UpstreamError('auth', 'refusing to send a cleartext password without TLS');
              authMethod = 'password';
              socket.write(serialize.password(login.password));
              break;
            case AuthCode.MD5Password: {
              requireMethod(ep, 'md5');
              authMethod = 'md5';
              const inner = md5hex(login.password + login.user);
              socket.write(serialize.password('md5' + md5hex(Buffer.concat([Buffer.from(inner), msg.data]))));
              break;
            }
            case AuthCode.SASL: {
              requireMethod(ep, 'scram-sha-256');
              if (scram) throw new UpstreamError('protocol', 'duplicate SASL authentication request');
              const mechanisms = msg.data
                .toString('utf8')
                .split('\0')
                .filter((m) => m.length > 0);
              const peer = tlsSocket?.getPeerX509Certificate();
              scram = new ScramClientExchange({
                password: login.password,
                mechanisms,
                channelBinding: peer ? tlsServerEndPoint(peer.raw) : null,
                keyCache: scramKeys,
              });
              authMethod = 'scram-sha-256';
              socket.write(
                serialize.sendSASLInitialResponseMessage(scram.mechanism, scram.clientFirst().toString('utf8')),
              );
              break;
            }
            case AuthCode.SASLContinue:
              if (!scram) throw new UpstreamError('protocol', 'SASLContinue without SASL');
              socket.write(
                serialize.sendSCRAMClientFinalMessage(scram.serverFirst(msg.data.toString('utf8')).toString('utf8')),
              );
              break;
            case AuthCode.SASLFinal:
              if (!scram) throw new UpstreamError('protocol', 'SASLFinal without SASL');
              scram.serverFinal(msg.data.toString('utf8'));
              break;
            default:
              throw new UpstreamError('auth', `unsupported upstream authentication request ${msg.code}`);
          }
          break;
        case 'parameter':
          parameters.push([msg.name, msg.value]);
          break;
        case 'key':
          // libpq's rule: in 3.0 the key is exactly 4 bytes; 3.2 allows 4..256 (checked when decoding).
          if (protocolMinor === 0 && msg.key.length !== 4) {
            throw new UpstreamError(
              'protocol',
              `received invalid BackendKeyData message: key length ${msg.key.length} in protocol 3.0`,
            );
          }
          pid = msg.pid;
          key = Buffer.from(msg.key);
          break;
        case 'notice':
          break;
        case 'negotiate':
          if (negotiated || sawAuth)
            throw new UpstreamError('protocol', 'unexpected protocol negotiation from upstream');
          negotiated = true;
          protocolMinor = acceptNegotiation(requestedMinor, msg.version, msg.options);
          break;
        case 'error':
          throw new UpstreamError(
            authenticated ? 'server-error' : 'auth',
            `upstream refused: ${msg.fields.code} ${msg.fields.message}`,
            msg.fields,
          );
        case 'ready': {
          if (!authenticated) throw new UpstreamError('protocol', 'ReadyForQuery before authentication');
          if (!key) throw new UpstreamError('protocol', 'upstream sent no BackendKeyData');
          const leftover = reader.release();
          clearTimeout(timer);
          return {
            socket,
            parameters,
            pid,
            key,
            protocolMinor,
            leftover,
            tls: tlsSocket ? { version: tlsSocket.getProtocol(), cipher: tlsSocket.getCipher()?.name ?? null } : null,
            authMethod,
            channelBound: scram?.channelBound ?? false,
          };
        }
      }
    }
  } catch (err) {
    clearTimeout(timer);
    socket.destroy();
    if (err instanceof UpstreamError) throw err;
    if (err instanceof PeerClosedError) {
      throw new UpstreamError(
        timedOut ? 'timeout' : 'protocol',
        timedOut ? 'upstream did not finish startup in time' : 'upstream closed the connection during startup',
        undefined,
        { cause: err },
      );
    }
    throw new UpstreamError('protocol', `upstream handshake failed: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
}

/**
 * The checks libpq makes of NegotiateProtocolVersion (fe-protocol3.c): only a downgrade to
 * a version we speak, and no options, since the gateway asks for no `_pq_` extensions.
 */
function acceptNegotiation(requestedMinor: number, version: number, options: readonly string[]): number {
  const invalid = (why: string): UpstreamError =>
    new UpstreamError('protocol', `received invalid protocol negotiation message: ${why}`);
  const major = version >>> 16;
  const minor = version & 0xffff;
  if (major < 3) throw invalid(`server only supports protocol version ${major}.${minor}, below 3.0`);
  if (major > 3 || minor > requestedMinor) throw invalid('server requested downgrade to a higher-numbered version');
  if (minor === 1) throw invalid('server requested protocol version 3.1, which is reserved');
  if (options.length > 0) {
    throw invalid(`server reported ${options.length} unsupported parameter(s) that were not requested`);
  }
  if (minor === requestedMinor) throw invalid('server negotiated but asks for no changes');
  return minor;
}

export type { ServerFields };
