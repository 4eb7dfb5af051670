import { advertisedMechanisms, ScramServerExchange } from '../../auth/scram-server.js';
import type { ScramLookup } from '../../identity/token-service.js';
import { parseSASLInitialResponse } from '../../protocol/auth-messages.js';
import * as W from '../../protocol/backend-writer.js';
import { MAX_SASL_MESSAGE_LENGTH } from '../../protocol/constants.js';
import { passwordFailed } from '../../protocol/errors.js';
import type { ClientLink } from '../client-link.js';
import type { Authenticated, AuthenticatePorts } from './auth-common.js';

/** SCRAM-SHA-256 (-PLUS over TLS) against the verifiers of the user's tokens. */
export async function scramAuth(
  link: ClientLink,
  user: string,
  lookup: ScramLookup,
  ports: Pick<AuthenticatePorts, 'tls' | 'scramMockSecret' | 'auth'>,
): Promise<Authenticated> {
  const onTls = link.tls !== null;
  const exchange = new ScramServerExchange({
    user,
    credentials: lookup.credentials,
    mockSecret: ports.scramMockSecret,
    mockIterations: ports.auth.scramIterations,
    channelBinding: onTls && ports.tls ? ports.tls.channelBinding : null,
  });
  const readSasl = async (): Promise<Buffer> => {
    const body = await link.passwordMessage('SASL');
    // Postgres refuses SASL messages over 1024 bytes as a failed login.
    if (body.length + 4 > MAX_SASL_MESSAGE_LENGTH) throw passwordFailed(user, 'SASL message too long');
    return body;
  };
  link.write(W.authenticationSASL(advertisedMechanisms(onTls)));
  const initial = parseSASLInitialResponse(await readSasl());
  let started = exchange.start(initial.mechanism, initial.data);
  if ('emptyContinue' in started) {
    link.write(W.authenticationSASLContinue(''));
    started = exchange.clientFirst(await readSasl());
  }
  link.write(W.authenticationSASLContinue(started.serverFirst));
  const { serverFinal, verifierId } = exchange.clientFinal(await readSasl());
  const token = lookup.tokens.get(verifierId);
  // A proof that matches a dead token's verifier fails like any wrong password; only the audit learns which.
  if (!token) throw passwordFailed(user, 'password mismatch');
  if (token.revokedAt) throw passwordFailed(user, 'token revoked');
  if (token.expiresAt.getTime() <= Date.now()) throw passwordFailed(user, 'token expired');
  link.writeAll([W.authenticationSASLFinal(serverFinal), W.authenticationOk()]);
  const plus = initial.mechanism === 'SCRAM-SHA-256-PLUS';
  return {
    user,
    groups: token.groups,
    tokenJti: verifierId,
    expiresAt: token.expiresAt,
    method: plus ? 'scram-sha-256-plus' : 'scram-sha-256',
    claims: {},
  };
}
