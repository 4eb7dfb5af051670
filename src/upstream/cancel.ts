import net from 'node:net';
import { cancelRequest } from '../protocol/frontend-writer.js';
import type { UpstreamEndpoint } from './connector.js';
import { startTls } from './connector.js';

/** Sends the upstream's own cancel key on a fresh connection (TLS when the target uses it). */
export async function sendUpstreamCancel(ep: UpstreamEndpoint, pid: number, key: Buffer): Promise<void> {
  const socket = net.connect({ host: ep.host, port: ep.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const timer = setTimeout(() => socket.destroy(), ep.connectTimeoutMs);
  try {
    const channel = ep.tlsMode === 'disable' ? socket : await startTls(socket, ep);
    channel.on('error', () => undefined);
    // The server answers nothing and closes; wait for that so the cancel has landed.
    await new Promise<void>((resolve) => {
      channel.once('close', () => resolve());
      channel.resume();
      channel.end(cancelRequest(pid, key));
    });
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}
