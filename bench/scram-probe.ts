import { randomBytes } from 'node:crypto';
import { int32, message, RawClient, startupPacket } from '../test/harness/raw-client.js';

/** AuthenticationSASL and AuthenticationSASLContinue codes of an 'R' message. */
const AUTH_SASL = 10;
const AUTH_SASL_CONTINUE = 11;

/**
 * The SCRAM iteration count a server makes its clients compute: read from the
 * server-first-message (`i=`), as libpq sees it, after TLS. The exchange stops there, so
 * no password is needed and nothing logs in.
 */
export async function scramIterationsOf(port: number, ca: string, user: string, database: string): Promise<number> {
  const c = await RawClient.connect(port);
  try {
    await c.upgrade(ca);
    c.write(startupPacket({ user, database }));
    const offer = await c.next();
    if (offer?.type !== 'R' || offer.body.readInt32BE(0) !== AUTH_SASL)
      throw new Error(`no SASL offer from port ${port} (got ${offer?.type ?? 'nothing'})`);
    const clientFirst = Buffer.from(`n,,n=,r=${randomBytes(18).toString('base64')}`);
    c.write(message('p', Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), int32(clientFirst.length), clientFirst])));
    const first = await c.next();
    if (first?.type !== 'R' || first.body.readInt32BE(0) !== AUTH_SASL_CONTINUE)
      throw new Error(`no server-first-message from port ${port} (got ${first?.type ?? 'nothing'})`);
    const iterations = /(?:^|,)i=(\d+)/.exec(first.body.subarray(4).toString('utf8'))?.[1];
    if (!iterations) throw new Error(`server-first-message from port ${port} without an iteration count`);
    return Number(iterations);
  } finally {
    c.end();
  }
}
