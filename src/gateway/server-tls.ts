import { constants, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import tls from 'node:tls';
import { tlsServerEndPoint } from '../auth/channel-binding.js';

/** What the listener needs to terminate TLS and bind SCRAM to the served certificate. */
export interface ServerTls {
  context: tls.SecureContext;
  /** tls-server-end-point hash of the certificate this gateway serves. */
  channelBinding: Buffer;
  minVersion: tls.SecureVersion;
  certPath: string;
  caPath: string | null;
}

export async function loadServerTls(opts: {
  certPath: string;
  keyPath: string;
  caPath?: string | null;
  minVersion: tls.SecureVersion;
}): Promise<ServerTls> {
  const [cert, key] = await Promise.all([readFile(opts.certPath, 'utf8'), readFile(opts.keyPath, 'utf8')]);
  // No stateless session tickets: Postgres clients do not resume TLS sessions, and with
  // TLS 1.3 the two tickets sent after the handshake push the first writes past Node's
  // 1 KB initial TLS buffer, which then grows to 16 KB for the life of every session.
  const context = tls.createSecureContext({
    cert,
    key,
    minVersion: opts.minVersion,
    secureOptions: constants.SSL_OP_NO_TICKET,
  });
  // The leaf is the first PEM block; its DER is what channel binding hashes.
  const leaf = new X509Certificate(cert);
  return {
    context,
    channelBinding: tlsServerEndPoint(leaf.raw),
    minVersion: opts.minVersion,
    certPath: opts.certPath,
    caPath: opts.caPath ?? null,
  };
}
