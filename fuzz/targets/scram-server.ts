import { clientKey, hmac, makeVerifier, saltedPassword, sha256, xor } from '../../src/auth/scram-primitives.js';
import { SCRAM_PLUS, ScramServerExchange } from '../../src/auth/scram-server.js';
import { parseSASLInitialResponse } from '../../src/protocol/auth-messages.js';
import { PgError } from '../../src/protocol/errors.js';
import { invariant, tolerate } from '../support.js';

// Exported for fuzz/seeds.ts, which records real exchanges against the same verifier.
export const PASSWORD = 'fuzz-token';
export const SALT = Buffer.from('pgward-fuzz-salt');
/** Few rounds: PBKDF2 is not what is being fuzzed, and the fixed verifier is computed once. */
export const ITERATIONS = 16;
const VERIFIER = makeVerifier(PASSWORD, SALT, ITERATIONS);
const CLIENT_KEY = clientKey(saltedPassword(PASSWORD, SALT, ITERATIONS));
/** Stands in for the tls-server-end-point hash of the gateway's certificate. */
export const BINDING = sha256('pgward fuzz certificate');

/** The markers (a stored input cannot hold the random server nonce) and the c= values that pass. */
export const dictionary = [
  '%N',
  ',p=%P',
  'c=biws',
  'c=eSws',
  `c=${Buffer.concat([Buffer.from('p=tls-server-end-point,,'), BINDING]).toString('base64')}`,
];

/**
 * The gateway's SCRAM server, fed a client: SASLInitialResponse (through its parser), an
 * optional separate client-first, then client-final. Input: a flags byte (bit 0: the
 * gateway is on TLS and can bind; bit 1: the user exists with a fixed verifier; bit 2: the
 * initial response carries no data, so client-first comes as its own message), then
 * `mechanism \0 client-first \0 client-final`. In client-final, `%N` becomes the combined
 * nonce and `,p=%P` the proof a client knowing the password would send.
 */
export function fuzz(data: Buffer): void {
  if (data.length < 1) return;
  const flags = data[0]!;
  const known = (flags & 2) !== 0;
  const [mechanism, first, final] = parts(data.subarray(1));
  const exchange = new ScramServerExchange({
    user: 'fuzz',
    credentials: known
      ? {
          salt: SALT,
          iterations: ITERATIONS,
          verifiers: [{ id: 'v1', storedKey: VERIFIER.storedKey, serverKey: VERIFIER.serverKey }],
        }
      : null,
    mockSecret: Buffer.alloc(32, 7),
    mockIterations: ITERATIONS,
    channelBinding: flags & 1 ? BINDING : null,
  });
  tolerate([PgError], () => {
    const initial = parseSASLInitialResponse(saslInitialResponse(mechanism, flags & 4 ? null : first));
    let started = exchange.start(initial.mechanism, initial.data);
    if ('emptyContinue' in started) started = exchange.clientFirst(first);
    const { serverFirst } = started;
    invariant(
      /^r=[\x21-\x2b\x2d-\x7e]+,s=[A-Za-z0-9+/]+={0,2},i=16$/.test(serverFirst),
      `malformed server-first "${serverFirst}"`,
    );

    const firstText = first.toString('latin1');
    // client-first passed, so its gs2 header is everything up to the second comma.
    const gs2End = firstText.indexOf(',', firstText.indexOf(',') + 1) + 1;
    let finalText = final.toString('latin1').replaceAll('%N', serverFirst.slice(2, serverFirst.indexOf(',')));
    const proofAt = finalText.indexOf(',p=%P');
    let authMessage: string | null = null;
    if (proofAt >= 0) {
      authMessage = `${firstText.slice(gs2End)},${serverFirst},${finalText.slice(0, proofAt)}`;
      const proof = xor(CLIENT_KEY, hmac(VERIFIER.storedKey, authMessage)).toString('base64');
      finalText = `${finalText.slice(0, proofAt)},p=${proof}${finalText.slice(proofAt + 5)}`;
    }
    const result = exchange.clientFinal(Buffer.from(finalText, 'latin1'));

    invariant(known && authMessage !== null, 'authenticated without knowing the password');
    invariant(result.verifierId === 'v1', 'matched a verifier that does not exist');
    invariant(
      result.serverFinal === `v=${hmac(VERIFIER.serverKey, authMessage).toString('base64')}`,
      'server signature over another AuthMessage',
    );
    const gs2 = Buffer.from(firstText.slice(0, gs2End), 'latin1');
    const cb = finalText.slice(2, finalText.indexOf(','));
    const bound = Buffer.concat([gs2, initial.mechanism === SCRAM_PLUS ? BINDING : Buffer.alloc(0)]);
    invariant(finalText.startsWith('c=') && Buffer.from(cb, 'base64').equals(bound), 'channel binding not checked');
  });
}

/** mechanism, client-first, client-final: split at the first two NULs. */
function parts(rest: Buffer): [string, Buffer, Buffer] {
  const a = rest.indexOf(0);
  if (a < 0) return [rest.toString('utf8'), Buffer.alloc(0), Buffer.alloc(0)];
  const b = rest.indexOf(0, a + 1);
  const first = b < 0 ? rest.subarray(a + 1) : rest.subarray(a + 1, b);
  return [rest.toString('utf8', 0, a), first, b < 0 ? Buffer.alloc(0) : rest.subarray(b + 1)];
}

/** The body a client sends; lengths computed here so mutations are not spent on them. */
function saslInitialResponse(mechanism: string, data: Buffer | null): Buffer {
  const name = Buffer.from(`${mechanism}\0`, 'utf8');
  const length = Buffer.alloc(4);
  length.writeInt32BE(data ? data.length : -1);
  return Buffer.concat([name, length, data ?? Buffer.alloc(0)]);
}
