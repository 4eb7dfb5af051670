import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { psql } from '../harness/clients.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';
import { int32, message, startupPacket } from '../harness/raw-client.js';

let gw: TestGateway;
let token: string;
let ca: string;

beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'), { limits: { startupTimeoutMs: 1_500 }, auth: { passwordUsers: ['raw-*'] } });
  token = (await gw.issue('alice')).token;
  ca = await readFile(gw.caPath, 'utf8');
});
afterAll(async () => {
  await gw?.close();
});

const works = async (): Promise<void> => {
  const r = await psql(gw, 'alice', gw.database, token, ['-c', 'select 6 * 7']);
  expect(r.stdout.trim()).toBe('42');
};

const open = (): Promise<net.Socket> =>
  new Promise((resolve, reject) => {
    const s = net.connect(gw.port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });

describe('faults and floods: the gateway keeps serving', () => {
  it('400 connections at once, half SSLRequest then silence, half garbage: all closed, others served meanwhile', async () => {
    // 400 here keeps the test process under the default 1,024 descriptors; the bench holds 1,000 sessions.
    const sockets = await Promise.all(Array.from({ length: 400 }, () => open()));
    const closed = sockets.map((s) => new Promise<void>((r) => s.once('close', () => r())));
    sockets.forEach((s, i) => {
      s.on('error', () => undefined);
      s.resume(); // read (and drop) the 'S': a paused socket never reports its close
      s.write(i % 2 ? Buffer.from('0000000804d2162f', 'hex') : randomBytes(64));
    });
    await works();
    let n = 0;
    closed.forEach((p) => void p.then(() => n++));
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 5_000))]);
    expect(n).toBe(400);
    for (let i = 0; i < 50 && gw.gateway.activeConnections > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(gw.gateway.activeConnections).toBe(0);
  }, 30_000);

  it('slowloris: a startup sent one byte at a time is cut off at the startup deadline', async () => {
    const packet = startupPacket({ user: 'alice', database: gw.database });
    const slow = await Promise.all(Array.from({ length: 30 }, () => open()));
    const t0 = Date.now();
    const ended = slow.map((s) => new Promise<number>((r) => s.once('close', () => r(Date.now() - t0))));
    const timers = slow.map((s, k) => {
      let i = 0;
      s.on('error', () => undefined);
      return setInterval(() => {
        const n = 1 + (k % 2);
        if (!s.destroyed && i < packet.length) s.write(packet.subarray(i, i + n));
        i += n;
      }, 200);
    });
    await works();
    const times = await Promise.all(ended);
    timers.forEach(clearInterval);
    for (const t of times) {
      expect(t).toBeGreaterThan(1_000);
      expect(t).toBeLessThan(4_000);
    }
  }, 20_000);

  it('a flood of CancelRequests with random keys cancels nothing', async () => {
    const running = psql(gw, 'alice', gw.database, token, ['-c', "select pg_sleep(1.5), 'not cancelled'"]);
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(
        Array.from({ length: 100 }, async () => {
          const s = await open();
          s.on('error', () => undefined);
          s.end(Buffer.concat([int32(16), int32(80877102), randomBytes(8)]));
          await new Promise((r) => s.once('close', r));
        }),
      );
    }
    const r = await running;
    expect(r.stdout.trim()).toBe('|not cancelled');
    await works();
  }, 30_000);

  it('a client that stops reading a large result does not make the gateway buffer it', async () => {
    const raw = await open();
    raw.write(Buffer.from('0000000804d2162f', 'hex'));
    await new Promise((r) => raw.once('data', r));
    const s = tls.connect({ socket: raw, ca, servername: 'localhost' });
    await new Promise((r) => s.once('secureConnect', r));
    let seen = Buffer.alloc(0);
    const until = (type: string): Promise<void> =>
      new Promise((resolve) => {
        const on = (d: Buffer): void => {
          seen = Buffer.concat([seen, d]);
          if (seen.includes(Buffer.from(type))) {
            s.off('data', on);
            resolve();
          }
        };
        s.on('data', on);
      });
    const token2 = (await gw.issue('raw-reader')).token;
    s.write(startupPacket({ user: 'raw-reader', database: gw.database }));
    await until('R');
    seen = Buffer.alloc(0);
    s.write(message('p', `${token2}\0`));
    await until('Z\0\0\0\x05I');
    // About 400 MB of rows, and then the client reads nothing more.
    s.write(message('Q', "select repeat('x', 2000) from generate_series(1, 200000)\0"));
    s.pause();
    const before = process.memoryUsage().rss;
    await new Promise((r) => setTimeout(r, 2_500));
    const grown = process.memoryUsage().rss - before;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    s.destroy();
    await works();
  }, 20_000);
});
