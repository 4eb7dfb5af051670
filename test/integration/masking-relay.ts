import net from 'node:net';
import { readFile } from 'node:fs/promises';
import * as W from '../../src/protocol/backend-writer.js';
import { Relay } from '../../src/relay/relay.js';
import { connectUpstream, type UpstreamConnection, type UpstreamEndpoint } from '../../src/upstream/connector.js';
import type { MaskingRules } from '../../src/policy/masking-schema.js';
import { CatalogueCache } from '../../src/mask/catalogue.js';
import { catalogueOver, sessionMasker } from '../../src/mask/session-masking.js';
import type { ClusterInfo } from '../harness/gateway.js';

/**
 * The relay with a session masker, between real clients and a real Postgres: what a
 * gateway session runs once authorized (LiveSession's wiring of `masker` is the gateway's
 * part). The client side is plain TCP and is not asked for a password; the upstream side
 * logs in as the test role over TLS with SCRAM, as the gateway does.
 */

export interface MaskingProxy {
  port: number;
  /** Audit summaries (masked values per column or recogniser), one per cycle that masked something. */
  summaries: Array<Record<string, number>>;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;

async function readPacket(socket: net.Socket, buffered: Buffer[]): Promise<Buffer> {
  for (;;) {
    const all = Buffer.concat(buffered);
    if (all.length >= 4) {
      const len = all.readUInt32BE(0);
      if (all.length >= len) {
        buffered.length = 0;
        if (all.length > len) buffered.push(all.subarray(len));
        return all.subarray(0, len);
      }
    }
    const chunk = await new Promise<Buffer>((resolve, reject) => {
      socket.once('data', resolve);
      socket.once('error', reject);
    });
    buffered.push(chunk);
  }
}

export async function startMaskingProxy(
  cluster: Pick<ClusterInfo, 'host' | 'port' | 'caPath'>,
  login: { role: string; password: string; database: string },
  rules: MaskingRules | null,
  key = Buffer.from('test-masking-key-test-masking-key'),
  /** Without rules: still show statements to an observer that does nothing (a detector session's own cost). */
  observe = false,
): Promise<MaskingProxy> {
  const ca = await readFile(cluster.caPath, 'utf8');
  const endpoint: UpstreamEndpoint = {
    host: cluster.host,
    port: cluster.port,
    tlsMode: 'verify-full',
    ca,
    serverName: 'localhost',
    allowedAuth: ['scram-sha-256'],
    connectTimeoutMs: 20_000,
  };
  const open = (params: Array<[string, string]> = []): Promise<UpstreamConnection> =>
    connectUpstream(endpoint, { user: login.role, database: login.database, password: login.password, params });
  const cache = new CatalogueCache();
  const summaries: Array<Record<string, number>> = [];
  const sockets = new Set<net.Socket>();

  const serve = async (socket: net.Socket): Promise<void> => {
    socket.pause();
    const buffered: Buffer[] = [];
    socket.resume();
    let packet = await readPacket(socket, buffered);
    while (packet.readUInt32BE(4) === SSL_REQUEST || packet.readUInt32BE(4) === GSSENC_REQUEST) {
      socket.write('N');
      packet = await readPacket(socket, buffered);
    }
    socket.pause();
    const parts = packet.toString('utf8', 8).split('\0');
    const params: Array<[string, string]> = [];
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const [k, v] = [parts[i]!, parts[i + 1]!];
      if (k && k !== 'user' && k !== 'database') params.push([k, v]);
    }
    const up = await open(params);
    socket.write(
      Buffer.concat([
        W.authenticationOk(),
        ...up.parameters.map(([n, v]) => W.parameterStatus(n, v)),
        W.backendKeyData(up.pid, up.key.subarray(0, 4)),
        W.readyForQuery('I'),
      ]),
    );
    const masker = sessionMasker(
      rules,
      { target: 'app', database: login.database },
      { key, catalogue: catalogueOver(() => open()), cache },
    );
    const relay = new Relay(socket, up.socket, {
      maxMessageBytes: 1 << 30,
      clientLeftover: Buffer.concat(buffered),
      upstreamLeftover: up.leftover,
      parameters: up.parameters,
      masker,
      observer:
        masker || observe
          ? {
              statement: () => null,
              bind: () => null,
              sync: () => undefined,
              ready: (r) => {
                if (r.masked) summaries.push(r.masked);
              },
            }
          : undefined,
      onEnd: () => sockets.delete(socket),
      onIllegalTransition: (err) => {
        throw err;
      },
    });
    relay.start();
  };

  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    serve(socket).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    summaries,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
