/**
 * The floor for any Node.js design: a proxy that terminates TLS on both legs and copies
 * bytes, nothing else (no parsing, no auth of its own, no policy, no audit). Run beside
 * pgward and PgBouncer it shows how much of the gap to PgBouncer is Node's TLS and stream
 * machinery rather than pgward's work. Clients must disable channel binding through it
 * (the certificate they see is not the server's).
 */
import net from 'node:net';
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';

const SSL_REQUEST = 80877103;

export async function startNodeTlsPipe(o: {
  upstream: { host: string; port: number; caPath: string };
  tls: { certPath: string; keyPath: string };
}): Promise<{ port: number; close(): Promise<void> }> {
  const [cert, key, ca] = await Promise.all([
    readFile(o.tls.certPath),
    readFile(o.tls.keyPath),
    readFile(o.upstream.caPath),
  ]);
  const secureContext = tls.createSecureContext({ cert, key });
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (raw) => {
    sockets.add(raw);
    raw.on('close', () => sockets.delete(raw));
    raw.on('error', () => raw.destroy());
    raw.once('data', (first: Buffer) => {
      if (first.length !== 8 || first.readUInt32BE(4) !== SSL_REQUEST) return void raw.destroy();
      raw.write('S');
      const client = new tls.TLSSocket(raw, { isServer: true, secureContext });
      client.pause();
      client.on('error', () => raw.destroy());
      const upRaw = net.connect({ host: o.upstream.host, port: o.upstream.port, noDelay: true }, () => {
        upRaw.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47]));
        upRaw.once('data', (answer: Buffer) => {
          if (answer[0] !== 0x53) return void raw.destroy();
          const up = tls.connect({ socket: upRaw, ca, servername: 'localhost' }, () => {
            client.pipe(up);
            up.pipe(client);
            client.resume();
          });
          up.on('error', () => raw.destroy());
          up.on('close', () => raw.destroy());
          client.on('close', () => upRaw.destroy());
        });
      });
      upRaw.on('error', () => raw.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
