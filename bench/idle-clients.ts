/**
 * Opens N authenticated TLS sessions to a Postgres endpoint and keeps them idle until
 * stdin closes. Runs in its own process so that its memory is not the proxy's.
 * argv: port user database caPath n   (password in PGPASSWORD)
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';

const [port, user, database, caPath, count] = process.argv.slice(2);
const n = Number(count);
const ca = readFileSync(caPath!, 'utf8');
const clients: pg.Client[] = [];

async function main(): Promise<void> {
  let failed = 0;
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, async () => {
      const c = new pg.Client({
        host: '127.0.0.1',
        port: Number(port),
        user,
        database,
        password: process.env['PGPASSWORD'],
        ssl: { ca, servername: 'localhost' },
        connectionTimeoutMillis: 15_000,
      });
      c.on('error', () => undefined);
      try {
        await c.connect();
        clients.push(c);
      } catch {
        failed++;
      }
    });
    await Promise.all(batch);
  }
  process.stdout.write(`ready ${clients.length} ${failed}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    void Promise.allSettled(clients.map((c) => c.end())).then(() => process.exit(0));
  });
}

void main();
