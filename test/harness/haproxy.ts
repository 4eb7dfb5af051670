import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from './eventually.js';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Debian's HAProxy in TCP mode, round-robin over the given gateway ports. */
export async function startHaproxy(
  backends: number[],
  opts: { sendProxyV2?: boolean } = {},
): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'haproxy-'));
  const cfg = join(dir, 'haproxy.cfg');
  await writeFile(
    cfg,
    `global
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend postgres
  bind 127.0.0.1:${port}
  default_backend gateways
backend gateways
  balance roundrobin
${backends.map((p, i) => `  server gw${i} 127.0.0.1:${p}${opts.sendProxyV2 ? ' send-proxy-v2' : ''}`).join('\n')}
`,
  );
  const child = spawn('/usr/sbin/haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`haproxy exited (${code}) before listening`))),
  );
  exited.catch(() => undefined);
  // Ready once it accepts a connection.
  await Promise.race([
    exited,
    eventually(
      () =>
        new Promise<void>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve();
          });
          s.on('error', reject);
        }),
    ),
  ]);
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    },
  };
}
