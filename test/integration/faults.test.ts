import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runningCount, untilRunning } from '../harness/activity.js';
import { psql } from '../harness/clients.js';
import { eventually } from '../harness/eventually.js';
import { startTestGateway, superuserQuery, type TestGateway } from '../harness/gateway.js';
import { int32, message, startupPacket } from '../harness/raw-client.js';

let gw: TestGateway;
let token: string;
let ca: string;

beforeAll(async () => {
  gw = await startTestGateway(inject('pgCluster'), {
    limits: { startupTimeoutMs: 1_500 },
    auth: { passwordUsers: ['raw-*'] },
  });
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
    let n = 0;
    closed.forEach((p) => void p.then(() => n++));
    await works();
    await eventually(() => expect(n).toBe(400));
    await eventually(() => expect(gw.gateway.activeConnections).toBe(0));
  });

  it('slowloris: a startup sent one byte at a time is cut off at the startup deadline', async () => {
    const packet = startupPacket({ user: 'alice', database: gw.database });
    // One or two bytes every 300 ms: the whole packet would take 5 s or more, the deadline is 1.5 s.
    const drip = 300;
    const slow = await Promise.all(
      Array.from({ length: 30 }, async (_, k) => {
        const s = await open();
        return { s, k, connectedAt: Date.now(), sent: 0 };
      }),
    );
    const ended = slow.map(
      (c) =>
        new Promise<{ openMs: number; sent: number }>((r) =>
          c.s.once('close', () => r({ openMs: Date.now() - c.connectedAt, sent: c.sent })),
        ),
    );
    const timers = slow.map((c) => {
      c.s.on('error', () => undefined);
      return setInterval(() => {
        const n = 1 + (c.k % 2);
        if (!c.s.destroyed && c.sent < packet.length) {
          c.s.write(packet.subarray(c.sent, c.sent + n));
          c.sent += n;
        }
      }, drip);
    });
    try {
      await works();
      const results = await Promise.all(ended);
      for (const { openMs, sent } of results) {
        // Not before the deadline, and while the client was still sending its startup.
        expect(openMs).toBeGreaterThan(1_000);
        expect(sent).toBeLessThan(packet.length);
      }
    } finally {
      timers.forEach(clearInterval);
    }
  });

  it('a flood of CancelRequests with random keys cancels nothing', async () => {
    const client = new pg.Client({
      host: gw.host,
      port: gw.port,
      user: 'alice',
      password: token,
      database: gw.database,
      ssl: { ca, servername: 'localhost' },
    });
    client.on('error', () => undefined);
    await client.connect();
    try {
      // Longer than any flood: still running after it means nothing cancelled it.
      const sql = "select pg_sleep(60), 'not cancelled'";
      const running = client.query(sql).then(
        () => null,
        (e: unknown) => e,
      );
      await untilRunning(inject('pgCluster'), sql, gw.upstreamRole);
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
      await works();
      expect(await runningCount(inject('pgCluster'), sql, gw.upstreamRole)).toBe(1);
      // Clean up: the statement ends only when someone entitled to cancels it.
      await superuserQuery(
        inject('pgCluster'),
        'select pg_cancel_backend(pid) from pg_stat_activity where query = $1 and usename = $2',
        'postgres',
        [sql, gw.upstreamRole],
      );
      expect(await running).toMatchObject({ code: '57014' });
    } finally {
      await client.end();
    }
  });

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
    // Buffers live outside the JS heap, in arrayBuffers; RSS also grows with the allocator's
    // own reserve and the first run of code paths, so it says little about buffering.
    const before = process.memoryUsage().arrayBuffers;
    // Backpressure reached Postgres: its backend waits to write to the gateway...
    const upstreamWaits = async (): Promise<void> => {
      const { rows } = await superuserQuery(
        inject('pgCluster'),
        `select wait_event from pg_stat_activity where query like 'select repeat(%' and usename = $1`,
        'postgres',
        [gw.upstreamRole],
      );
      expect(rows).toEqual([{ wait_event: 'ClientWrite' }]);
    };
    await eventually(upstreamWaits);
    // ...and still does a while later (a gateway that buffered would have drained it meanwhile).
    // This window is how long "nothing grows" is watched, not a deadline for anything.
    await new Promise((r) => setTimeout(r, 1_000));
    await upstreamWaits();
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    s.destroy();
    await works();
  });
});
