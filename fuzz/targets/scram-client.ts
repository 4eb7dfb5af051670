import { ScramClientExchange, UpstreamAuthError } from '../../src/auth/scram-client.js';
import { clientKey, hmac, saltedPassword, serverKey, sha256, xor } from '../../src/auth/scram-primitives.js';
import { SCRAM, SCRAM_PLUS } from '../../src/auth/scram-server.js';
import { invariant, tolerate } from '../support.js';

const PASSWORD = 'upstream-secret';
// Exported for fuzz/seeds.ts: server-first must extend this nonce.
export const NONCE = 'fuzzclientnonce';
/** Stands in for the tls-server-end-point hash of the upstream's certificate. */
const BINDING = sha256('pgward fuzz upstream certificate');
/**
 * Iteration counts the client accepts (up to 1,000,000) above this are skipped: each costs
 * a PBKDF2 run of up to a second and exercises no parsing. Larger and malformed counts are
 * still fed in, since they are refused before any hashing.
 */
const MAX_FUZZ_ITERATIONS = 256;

/** `%V` in server-final becomes the true server signature, which a stored input cannot hold. */
export const dictionary = ['%V', 'v=%V', `r=${NONCE}`, 'e=', 's=', 'i=', 'v=', 'i=128', 'i=1000001'];

/**
 * The gateway's SCRAM client toward an upstream, fed a server. Input: a flags byte (bit 0:
 * the gateway can bind, i.e. is on TLS; bit 1: the server offers SCRAM-SHA-256-PLUS; bit 2:
 * it offers no SCRAM at all), then `server-first \0 server-final`, decoded as UTF-8 like
 * the connector does. The client nonce is fixed to "fuzzclientnonce".
 */
export function fuzz(data: Buffer): void {
  if (data.length < 1) return;
  const flags = data[0]!;
  const rest = data.subarray(1);
  const nul = rest.indexOf(0);
  const serverFirst = (nul < 0 ? rest : rest.subarray(0, nul)).toString('utf8');
  const serverFinal = nul < 0 ? '' : rest.subarray(nul + 1).toString('utf8');
  if (costly(serverFirst)) return;
  tolerate([UpstreamAuthError], () => {
    const canBind = (flags & 1) !== 0;
    const offered = flags & 4 ? ['SCRAM-SHA-1'] : flags & 2 ? [SCRAM_PLUS, SCRAM] : [SCRAM];
    const client = new ScramClientExchange({
      password: PASSWORD,
      mechanisms: offered,
      channelBinding: canBind ? BINDING : null,
      nonce: NONCE,
    });
    const plus = client.mechanism === SCRAM_PLUS;
    invariant(plus === (canBind && offered.includes(SCRAM_PLUS)), 'channel binding chosen wrongly');
    const gs2 = plus ? 'p=tls-server-end-point,,' : canBind ? 'y,,' : 'n,,';
    invariant(client.clientFirst().toString() === `${gs2}n=,r=${NONCE}`, 'unexpected client-first');

    const clientFinal = client.serverFirst(serverFirst).toString();
    // Accepted, so server-first is `x=value` parts with r, s and i; the last of a name wins.
    const attrs = new Map(serverFirst.split(',').map((p) => [p[0], p.slice(2)] as const));
    const nonce = attrs.get('r')!;
    invariant(nonce.startsWith(NONCE) && nonce.length > NONCE.length, 'accepted a nonce that does not extend ours');
    const salted = saltedPassword(PASSWORD, Buffer.from(attrs.get('s')!, 'base64'), Number(attrs.get('i')));
    const withoutProof = `c=${Buffer.concat([Buffer.from(gs2), plus ? BINDING : Buffer.alloc(0)]).toString('base64')},r=${nonce}`;
    const authMessage = `n=,r=${NONCE},${serverFirst},${withoutProof}`;
    const ck = clientKey(salted);
    invariant(
      clientFinal === `${withoutProof},p=${xor(ck, hmac(sha256(ck), authMessage)).toString('base64')}`,
      'wrong client-final',
    );

    const signature = hmac(serverKey(salted), authMessage).toString('base64');
    client.serverFinal(serverFinal.replace('%V', signature));
    invariant(serverFinal.includes('%V'), 'accepted a server signature it could not have checked');
    invariant(client.completed && client.channelBound === plus, 'completion state wrong');
  });
}

function costly(serverFirst: string): boolean {
  return serverFirst.split(',').some((p) => {
    const count = /^i=(\d{1,10})$/.exec(p);
    return count !== null && Number(count[1]) > MAX_FUZZ_ITERATIONS && Number(count[1]) <= 1_000_000;
  });
}
