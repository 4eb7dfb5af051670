import { X509Certificate } from 'node:crypto';
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
  const context = tls.createSecureContext({ cert, key, minVersion: opts.minVersion });
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
